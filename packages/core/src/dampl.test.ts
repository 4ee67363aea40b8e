import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Rng } from '@dampl/runtime';
import {
  dampl, damplSchema, fitMethod, methodDefaults, loadMethodState, NonFiniteLossError, PromptLearner, readCheckpoint, resolveConfig,
  saveMethodState, TrainingAborted, type DamplConfig, type LabelledMethodInput, type MethodResult,
} from './index.js';
import { makeToyProblem, useToyProblem, type ToyProblem } from './testing/index.js';
import type { TextTower } from './types.js';

const fx = useToyProblem({ beforeAll, afterAll }, { backend: 'wasm', tower: { seed: 1 }, toy: { seed: 3 } });

// synth's defaults, seeded by the single template: the toy problem's fake text tower gives
// CLIP's 80 templates no meaning (it encodes words, not images' styles)
const config = (over: Partial<DamplConfig> = {}): DamplConfig =>
  resolveConfig(damplSchema, [{ source: 'synth', values: methodDefaults(dampl, 'synth') }, { source: 'test', values: { zeroShotTemplates: ['a photo of a {class}.'], ...over } }]);

const input = (toy: ToyProblem, over: Partial<LabelledMethodInput<DamplConfig>> = {}): LabelledMethodInput<DamplConfig> => ({
  source: toy.source, sourceLabels: toy.sourceLabels, target: toy.target,
  classNames: toy.classNames, domainNames: toy.domainNames, clip: fx.tower, config: config({ epochs: 3 }), seed: 11, ...over,
});

const tempDir = () => mkdtemp(path.join(tmpdir(), 'dampl-core-'));
const bytes = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));
const stateBytes = async (r: MethodResult) => Object.fromEntries(Object.entries((await r.state()).tensors).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
const accuracy = (pred: Int32Array, labels: Int32Array) => pred.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / labels.length;

describe('DAMPL training', () => {
  it('changes only the prompt vectors: every tower weight is identical bit for bit afterwards', async () => {
    const before = new Map([...fx.tower.weights()].map(([k, t]) => [k, bytes(t)]));
    const r = await fitMethod(dampl, input(fx.toy, { config: config({ epochs: 2 }) }));
    for (const [k, t] of fx.tower.weights()) expect(bytes(t).equals(before.get(k)!), k).toBe(true);
    const init = new PromptLearner(fx.tower, fx.toy.classNames, fx.toy.domainNames, (await r.state()).config as DamplConfig, new Rng(11).fork('init'));
    const learned = (await r.state()).tensors;
    for (const [k, v] of init.params()) {
      expect(learned[k]!.shape).toEqual(v.shape);
      expect(Buffer.from((learned[k]!.data as Float32Array).buffer).equals(bytes(v))).toBe(false);
    }
    init.dispose();
    r.dispose();
  });

  it('allocates no tensors across steps or epochs', async () => {
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const r = await fitMethod(dampl, input(fx.toy, {
      config: config({ epochs: 3 }), targetLabelsForAnalysis: fx.toy.targetLabels, evalTarget: fx.toy.evalTarget,
      onStep: () => counts.push(tf.memory().numTensors),
    }));
    expect(counts.length).toBe(9);
    expect(new Set(counts).size).toBe(1);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('records history; target labels only score it and never change training', async () => {
    const plain = await fitMethod(dampl, input(fx.toy));
    const scored = await fitMethod(dampl, input(fx.toy, { targetLabelsForAnalysis: fx.toy.targetLabels, evalTarget: fx.toy.evalTarget }));
    expect(await stateBytes(scored)).toEqual(await stateBytes(plain));
    expect(plain.history.map((h) => h.losses)).toEqual(scored.history.map((h) => h.losses));
    expect(plain.history[0]!.pseudoAccuracy).toBeUndefined();
    expect(plain.history[0]!.evalAccuracy).toBeUndefined();
    const h = scored.history;
    expect(h.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(h.map((e) => e.step)).toEqual([3, 6, 9]);
    for (const e of h) {
      expect(Object.keys(e.losses).sort()).toEqual(['im', 'src', 'tgt', 'total']);
      expect(e.pseudoCoverage).toBeGreaterThan(0);
      expect(e.pseudoCoverage).toBeLessThanOrEqual(1);
      expect(e.extra?.lambda).toBeGreaterThanOrEqual(0);
    }
    // the last epoch's scores are those of the trained prompts' own predictions
    const last = h.at(-1)!;
    expect(last.targetAccuracy).toBeCloseTo(accuracy((await scored.predict(fx.toy.target)).labels, fx.toy.targetLabels), 12);
    const onEval = (await scored.predict(fx.toy.evalTarget.features)).labels;
    expect(last.evalAccuracy).toBeCloseTo(accuracy(onEval, fx.toy.evalTarget.labels), 12);
    expect(last.evalAccuracy).toBeGreaterThan(1 / fx.toy.classNames.length);
    expect(h[0]!.lr).toBe(1e-2);
    expect(h[0]!.losses.total).toBeCloseTo(h[0]!.losses.src! + h[0]!.losses.tgt! + h[0]!.losses.im!, 5);
    plain.dispose();
    scored.dispose();
  });

  it('round-trips a checkpoint: restored prompts predict exactly the same probabilities', async () => {
    const dir = await tempDir();
    const r = await fitMethod(dampl, input(fx.toy, { config: config({ epochs: 2 }), checkpoint: { dir } }));
    const want = await r.predict(fx.toy.evalTarget.features);
    const saved = path.join(dir, 'saved');
    await saveMethodState(saved, await r.state());
    for (const from of [saved, dir]) {
      const state = await loadMethodState(from);
      const restored = await dampl.restore!(state, { classNames: fx.toy.classNames, domainNames: fx.toy.domainNames, clip: fx.tower });
      const got = await restored.predict(fx.toy.evalTarget.features);
      expect(Buffer.from(got.probs.buffer).equals(Buffer.from(want.probs.buffer))).toBe(true);
      expect(got.labels).toEqual(want.labels);
      expect(restored.history).toEqual(r.history);
      restored.dispose();
    }
    const meta = JSON.parse(await readFile(path.join(saved, 'method.json'), 'utf8'));
    expect(meta.method).toBe('dampl');
    expect(meta.meta.classNames).toEqual(fx.toy.classNames);
    await expect(dampl.restore!(await loadMethodState(saved), { classNames: [...fx.toy.classNames].reverse(), domainNames: fx.toy.domainNames, clip: fx.tower }))
      .rejects.toThrow(/trained for classes/);
    r.dispose();
  });

  it('resumes exactly: stopped after epoch 2 and resumed, it ends where an uninterrupted run ends', async () => {
    const cfg = config({ epochs: 4 });
    const whole = await fitMethod(dampl, input(fx.toy, { config: cfg, targetLabelsForAnalysis: fx.toy.targetLabels }));
    const dir = await tempDir();
    const stop = new AbortController();
    await expect(fitMethod(dampl, input(fx.toy, {
      config: cfg, targetLabelsForAnalysis: fx.toy.targetLabels, checkpoint: { dir }, signal: stop.signal,
      onEpoch: (e) => { if (e.epoch === 2) stop.abort(); },
    }))).rejects.toThrow(TrainingAborted);
    const ck = await readCheckpoint(dir);
    expect(ck.trainer.epoch).toBe(2);
    expect(ck.trainer.step).toBe(6);
    const resumed = await fitMethod(dampl, input(fx.toy, { config: cfg, targetLabelsForAnalysis: fx.toy.targetLabels, resumeFrom: dir, checkpoint: { dir } }));
    expect(await stateBytes(resumed)).toEqual(await stateBytes(whole));
    expect(resumed.history).toEqual(whole.history);
    expect(JSON.stringify(resumed.history)).toBe(JSON.stringify(whole.history));
    expect((await readCheckpoint(dir)).trainer.epoch).toBe(4);
    expect(existsSync(path.join(dir, 'epoch-0002'))).toBe(false);
    await expect(fitMethod(dampl, input(fx.toy, { config: config({ epochs: 4, lr: 0.02 }), resumeFrom: dir })))
      .rejects.toThrow(ConfigError);
    whole.dispose();
    resumed.dispose();
  });

  it('stops on a NaN loss with an error naming the step, and leaves the last checkpoint intact', async () => {
    let poison = false;
    const sick: TextTower = Object.create(fx.tower);
    (sick as { encodeTextFromEmbeddings: TextTower['encodeTextFromEmbeddings'] }).encodeTextFromEmbeddings = (e, i) =>
      poison ? tf.tidy(() => tf.mul(fx.tower.encodeTextFromEmbeddings(e, i), NaN)) : fx.tower.encodeTextFromEmbeddings(e, i);
    const dir = await tempDir();
    const err = await fitMethod(dampl, input(fx.toy, {
      clip: sick, config: config({ epochs: 3 }), checkpoint: { dir },
      onEpoch: () => { poison = true; },
    })).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err!.message).toMatch(/non-finite loss at step 4 \(epoch 2, batch 1 of 3\)/);
    expect(err!.message).toMatch(/last finite losses at step 3: src=/);
    expect(err!.message).toContain(path.join(dir, 'epoch-0001'));
    const ck = await readCheckpoint(dir);
    expect(ck.trainer.epoch).toBe(1);
    expect(Object.values(ck.method.tensors).every((t) => (t.data as Float32Array).every(Number.isFinite))).toBe(true);
  });

  it('honours maxSteps', async () => {
    const r = await fitMethod(dampl, input(fx.toy, { config: config({ epochs: 5, maxSteps: 4 }) }));
    expect(r.history.map((h) => h.step)).toEqual([3, 4]);
    r.dispose();
  });

  it('beats zero-shot CLIP on a shifted target domain', async () => {
    const toy = await makeToyProblem(fx.tower, { shift: 0.3, mix: 0, noiseTarget: 0.1, perClassSource: 60, perClassTarget: 60, seed: 7 });
    const r = await fitMethod(dampl, input(toy, { config: config(), seed: 1, evalTarget: toy.evalTarget }));
    const acc = accuracy((await r.predict(toy.evalTarget.features)).labels, toy.evalTarget.labels);
    expect(toy.zeroShotAccuracy).toBeLessThan(0.8);
    expect(acc).toBeGreaterThan(toy.zeroShotAccuracy + 0.05);
    expect(r.history.at(-1)!.evalAccuracy).toBe(acc);
    r.dispose();
  });
});
