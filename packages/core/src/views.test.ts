import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Rng, hashConfig, hashSchemaConfig } from '@dampl/runtime';
import {
  dampl, damplSchema, epochView, epochViewIndices, l2Normalize, methodDefaults, parseViews, resolveConfig,
  zeroShotTextFeatures, type DamplConfig, type EpochRecord, type FeatureMatrix, type MethodInput,
} from './index.js';
import { PseudoLabeler } from './pseudo.js';
import { useToyProblem } from './testing/index.js';

const fx = useToyProblem({ beforeAll, afterAll }, { backend: 'wasm', tower: { seed: 1 }, toy: { seed: 3 } });

const config = (over: Partial<DamplConfig> = {}): DamplConfig =>
  resolveConfig(damplSchema, [{ source: 'synth', values: methodDefaults(dampl, 'synth') }, { source: 'test', values: { zeroShotTemplates: ['a photo of a {class}.'], correction: 'none', ...over } }]);

/** View v of m: its rows plus noise that grows with v, so that views give different zero-shot labels. */
const noisyViews = (m: FeatureMatrix, k: number, seed: number): FeatureMatrix[] => Array.from({ length: k }, (_, v) => {
  const noise = new Rng(seed).fork(`view ${v}`).normalArray(m.data.length);
  return { rows: m.rows, dim: m.dim, data: Float32Array.from(m.data, (x, i) => x + 0.15 * (v + 1) * noise[i]!) };
});

describe('parseViews', () => {
  it("reads 0, a positive K and 'online', and names the choices for anything else", () => {
    expect(parseViews('0')).toEqual({ kind: 'clean' });
    expect(parseViews('4')).toEqual({ kind: 'cached', k: 4 });
    expect(parseViews(' online ')).toEqual({ kind: 'online' });
    for (const bad of ['-1', '2.5', 'fresh', '']) expect(() => parseViews(bad)).toThrow(/expected 0, a positive integer K or 'online'/);
  });
});

describe('epochView', () => {
  it('takes one view per image, the same for the same seed and epoch, another for the next epoch, from every view', () => {
    const a = epochViewIndices(200, 4, 7, 1, 'target');
    expect(Array.from(epochViewIndices(200, 4, 7, 1, 'target'))).toEqual(Array.from(a));
    expect(Array.from(epochViewIndices(200, 4, 7, 2, 'target'))).not.toEqual(Array.from(a));
    expect(Array.from(epochViewIndices(200, 4, 7, 1, 'source'))).not.toEqual(Array.from(a));
    expect(new Set(a).size).toBe(4);
    const views = [0, 1, 2, 3].map((v) => ({ rows: 200, dim: 2, data: Float32Array.from({ length: 400 }, (_, i) => v * 1000 + i) }));
    const e = epochView(views, 7, 1, 'target');
    for (let i = 0; i < 200; i++) expect([e.data[2 * i], e.data[2 * i + 1]]).toEqual([a[i]! * 1000 + 2 * i, a[i]! * 1000 + 2 * i + 1]);
  });
});

describe('DAMPL with cached views', () => {
  const input = (cfg: DamplConfig, over: Partial<MethodInput<DamplConfig>> = {}): MethodInput<DamplConfig> => ({
    source: fx.toy.source, sourceLabels: fx.toy.sourceLabels, target: fx.toy.target, classNames: fx.toy.classNames, domainNames: fx.toy.domainNames,
    clip: fx.tower, config: cfg, seed: 11, ...over,
  });

  /** The coverage of the zero-shot pseudo-labels (correction none) on `m`. */
  async function coverageOn(m: FeatureMatrix, cfg: DamplConfig): Promise<number> {
    const x = tf.tidy(() => l2Normalize(tf.tensor2d(m.data, [m.rows, m.dim])));
    const text = zeroShotTextFeatures(fx.tower, fx.toy.classNames, cfg.zeroShotTemplates);
    const labeler = new PseudoLabeler(x, text, fx.tower.logitScale, cfg);
    try {
      return (await labeler.compute(0, cfg.epochs)).coverage;
    } finally {
      labeler.dispose();
      text.dispose();
      x.dispose();
    }
  }

  it('trains each epoch on that epoch\'s view and computes the pseudo-labels on it', async () => {
    const cfg = config({ epochs: 4, views: '4' });
    const trainViews = { source: noisyViews(fx.toy.source, 4, 1), target: noisyViews(fx.toy.target, 4, 2) };
    const history: EpochRecord[] = [];
    const r = await dampl.fit(input(cfg, { trainViews, onEpoch: (e) => history.push(e) }));
    r.dispose();
    const expected = await Promise.all([1, 2, 3, 4].map((e) => coverageOn(epochView(trainViews.target, 11, e, 'target'), cfg)));
    expect(history.map((h) => h.pseudoCoverage)).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(1);
    expect(expected).not.toContain(await coverageOn(fx.toy.target, cfg));
  });

  it('asks for the views it is set to: K cached views, or an image encoder for online views', async () => {
    await expect(dampl.fit(input(config({ views: '4' })))).rejects.toThrow(/views=4 needs 4 cached views/);
    await expect(dampl.fit(input(config({ views: 'online' })))).rejects.toThrow(ConfigError);
    await expect(dampl.fit(input(config({ views: 'online' })))).rejects.toThrow(/needs an image encoder for each epoch/);
  });

  it('with online views asks the caller for each epoch\'s fresh views, both sides, and computes the pseudo-labels on them', async () => {
    const cfg = config({ epochs: 3, views: 'online' });
    const fresh = { source: noisyViews(fx.toy.source, 3, 5), target: noisyViews(fx.toy.target, 3, 6) };
    const asked: string[] = [];
    const onlineViews = {
      async view(side: 'source' | 'target', epoch: number) {
        asked.push(`${side} ${epoch}`);
        return fresh[side][epoch - 1]!;
      },
    };
    const history: EpochRecord[] = [];
    const r = await dampl.fit(input(cfg, { onlineViews, onEpoch: (e) => history.push(e) }));
    r.dispose();
    expect(asked).toEqual(['source 1', 'target 1', 'source 2', 'target 2', 'source 3', 'target 3']);
    const expected = await Promise.all([0, 1, 2].map((e) => coverageOn(fresh.target[e]!, cfg)));
    expect(history.map((h) => h.pseudoCoverage)).toEqual(expected);
  });

  it('leaves the hash of a config at views 0 as it was', () => {
    const cfg = config();
    const { views: _, ...without } = cfg;
    expect(hashSchemaConfig(damplSchema, cfg)).toBe(hashConfig(without));
    expect(hashSchemaConfig(damplSchema, { ...cfg, views: '4' })).not.toBe(hashConfig(without));
  });
});
