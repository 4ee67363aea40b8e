import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, hashSchemaConfig, selectBackend } from '@dampl/runtime';
import { FeatureClassifier, getNamedConfig, methodDefaults, resolveMethodConfig, trainHead, type FeatureData } from '@dampl/core';
import { dan, danSchema, dann, type DanConfig } from './index.js';
import { grlCoefficient } from './modules/grl.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('dan@tllib and dann@tllib', () => {
  it('set only what TLlib does differently, each value with its source, over the presets', async () => {
    const d = await resolveMethodConfig(dan, { dataset: 'mini-domainnet', named: 'tllib' });
    expect(d.bottleneck).toBe('relu-dropout');
    expect(d.bottleneckDim).toBe(1024); // dan.sh's DomainNet preset stays in force
    expect(getNamedConfig('dan', 'tllib').sources?.bottleneck).toMatch(/tllib\/alignment\/dan\.py ImageClassifier/);
    const n = await resolveMethodConfig(dann, { dataset: 'office-home', named: 'tllib' });
    expect([n.grlAlpha, n.grlSteps, n.epochs]).toEqual([1, 1000, 30]);
    for (const c of [getNamedConfig('dan', 'tllib'), getNamedConfig('dann', 'tllib')]) {
      expect(c.backbone).toMatch(/ResNet-50/);
      for (const k of Object.keys(c.values)) expect(c.sources?.[k]).toMatch(/TLlib/);
    }
    // TLlib's warm start at iteration i: 2 / (1 + exp(-i / 1000)) - 1
    expect(grlCoefficient(500, n.grlSteps, { alpha: n.grlAlpha })).toBeCloseTo(2 / (1 + Math.exp(-0.5)) - 1, 12);
  });

  it("leave today's dan config and its hash as they were recorded before the bottleneck key", async () => {
    // the config hash of DAN on synth in a record made before `bottleneck` existed (the committed
    // reference run of commit 521262c, results/reference/synth/runs/11a1f128b485fd965802e800.json there)
    const record = { configHash: '34c95a77d3e83c59f2c30a38c70ddabe02ff24e56e7a38ac94d97d07264ff1b3' };
    const now = methodDefaults(dan, 'synth');
    expect(now.bottleneck).toBe('bn-relu');
    expect(hashSchemaConfig(danSchema, now)).toBe(record.configHash);
    expect(hashSchemaConfig(danSchema, { ...now, bottleneck: 'relu-dropout' })).not.toBe(record.configHash);
  });

  it("builds TLlib's DAN bottleneck: Linear - ReLU - Dropout(0.5), no BatchNorm, identity in eval", async () => {
    const m = new FeatureClassifier(8, 3, 64, false, new Rng(1), 'relu-dropout');
    expect([...m.state().keys()].sort()).toEqual(['bottleneck.0.bias', 'bottleneck.0.weight', 'head.bias', 'head.weight']);
    const x = tf.tensor2d(new Rng(2).normalArray(40 * 8), [40, 8]);
    const evalF = m.forward(x, false).f;
    const trainF = m.forward(x, true).f;
    const e = await evalF.data();
    const t = await trainF.data();
    let positive = 0;
    let dropped = 0;
    for (let i = 0; i < e.length; i++) {
      if (e[i]! <= 0) continue;
      positive++;
      if (t[i] === 0) dropped++;
      else expect(t[i]!).toBeCloseTo(2 * e[i]!, 5);
    }
    expect(dropped / positive).toBeGreaterThan(0.4);
    expect(dropped / positive).toBeLessThan(0.6);
    expect(Array.from(await m.forward(x, false).f.data())).toEqual(Array.from(e));
    m.dispose();
  });

  it('train with it, seeded, and restore to the same predictions', async () => {
    const rng = new Rng(3);
    const dim = 8;
    const source = rng.normalArray(60 * dim);
    const sourceLabels = Int32Array.from({ length: 60 }, (_, i) => i % 3);
    for (let i = 0; i < 60; i++) source[i * dim + sourceLabels[i]!] += 3;
    const data: FeatureData = { source, sourceLabels, target: rng.normalArray(60 * dim), dim, numClasses: 3 };
    const cfg: DanConfig = { ...methodDefaults(dan, 'synth'), bottleneck: 'relu-dropout', epochs: 2, itersPerEpoch: 20, bottleneckDim: 16, batchSize: 8 };
    const input = {
      source: { data: data.source, rows: 60, dim }, sourceLabels, target: { data: data.target, rows: 60, dim },
      classNames: ['a', 'b', 'c'], domainNames: ['s', 't'] as const, seed: 4, config: cfg, clip: undefined as never,
    };
    const a = await dan.fit(input);
    const b = await dan.fit(input);
    const pa = (await a.predict(input.target)).probs;
    expect(Array.from((await b.predict(input.target)).probs)).toEqual(Array.from(pa));
    const restored = await dan.restore!(await a.state(), { classNames: input.classNames, domainNames: input.domainNames, clip: undefined as never });
    expect(Array.from((await restored.predict(input.target)).probs)).toEqual(Array.from(pa));
    const bn = await trainHead(data, { ...cfg, bottleneck: 'bn-relu' }, new Rng(4));
    expect([...bn.model.state().keys()]).toContain('bottleneck.1.running_mean');
    for (const r of [a, b, restored]) r.dispose?.();
    bn.model.dispose();
  });
});
