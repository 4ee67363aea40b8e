import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { PseudoLabeler, curriculumLambda, textSeededPrototypes, type PseudoLabelOptions } from './pseudo.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const deg = (a: number) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)];
// two target clusters on the unit circle: class 0 near 10-50 degrees, class 1 near 85-100;
// the zero-shot text features sit at 0 and 90 degrees, so the sample at 50 degrees is labelled 1
const angles = [10, 30, 50, 85, 90, 95, 100];
const truth = [0, 0, 0, 1, 1, 1, 1];
const x = () => tf.tensor2d(angles.map(deg));
const z = () => tf.tensor2d([deg(0), deg(90)]);
const opts: PseudoLabelOptions = { correction: 'none', tau: 0.6, temperature: 1, lambda0: 0, lambda1: 0.5, lambdaSchedule: 'linear', protoIters: 2 };

describe('curriculum weight', () => {
  it('rises from lambda0 to lambda1, linearly or along a half cosine', () => {
    expect([0, 1, 2, 3, 4].map((e) => curriculumLambda(e, 5, opts))).toEqual([0, 0.125, 0.25, 0.375, 0.5]);
    const cos = { ...opts, lambdaSchedule: 'cosine' as const };
    expect(curriculumLambda(1, 5, cos)).toBeCloseTo((0.5 * (1 - Math.cos(Math.PI / 4))) / 2, 12);
    expect(curriculumLambda(2, 5, cos)).toBeCloseTo(0.25, 12);
    expect(curriculumLambda(0, 1, opts)).toBe(0.5);
  });
});

describe('pseudo-labels', () => {
  it("'none' keeps zero-shot labels whose softmax(s cos / T) confidence reaches tau", async () => {
    const [xs, zs] = [x(), z()];
    const pl = new PseudoLabeler(xs, zs, 10, opts);
    const r = await pl.compute(0, 3);
    expect([...r.labels]).toEqual([0, 0, 1, 1, 1, 1, 1]);
    const conf = angles.map((a) => {
      const [c0, c1] = [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)];
      return 1 / (1 + Math.exp(-10 * Math.abs(c0 - c1)));
    });
    for (let i = 0; i < angles.length; i++) expect(r.confidence[i]).toBeCloseTo(conf[i]!, 5);
    expect([...r.keep]).toEqual(conf.map((c) => (c >= 0.6 ? 1 : 0)));
    expect(r.coverage).toBeCloseTo(conf.filter((c) => c >= 0.6).length / 7, 12);
    expect(pl.needsTargetText).toBe(false);
    pl.dispose();
    tf.dispose([xs, zs]);
  });

  it('text-seeded prototypes move to the clusters and relabel the sample zero-shot gets wrong', async () => {
    const [xs, zs] = [x(), z()];
    const base = tf.tidy(() => tf.softmax(tf.mul<tf.Tensor2D>(tf.matMul(xs, zs, false, true), 10)));
    const protos = textSeededPrototypes(xs, zs, base, 1);
    // round 1: class 0 = {10, 30} and class 1 = {50, 85, 90, 95, 100}, each weighted by its confidence
    const w = base.arraySync().map((r) => Math.max(...r));
    const mean = (idx: number[]) => {
      const s = idx.reduce((acc, i) => [acc[0]! + w[i]! * deg(angles[i]!)[0]!, acc[1]! + w[i]! * deg(angles[i]!)[1]!], [0, 0]);
      const n = Math.hypot(s[0]!, s[1]!);
      return [s[0]! / n, s[1]! / n];
    };
    const p = protos.arraySync();
    const want = [mean([0, 1]), mean([2, 3, 4, 5, 6])];
    for (let k = 0; k < 2; k++) for (let e = 0; e < 2; e++) expect(p[k]![e]).toBeCloseTo(want[k]![e]!, 5);
    const pl = new PseudoLabeler(xs, zs, 10, { ...opts, correction: 'prototype' });
    expect([...(await pl.compute(0, 3)).labels]).toEqual(truth);
    pl.dispose();
    tf.dispose([xs, zs, base, protos]);
  });

  it("'curriculum' blends the target prompts' distribution in with weight lambda_e", async () => {
    const [xs, zs] = [x(), z()];
    const wt = tf.tensor2d([deg(40), deg(95)]); // learned target prompts
    const pl = new PseudoLabeler(xs, zs, 10, { ...opts, correction: 'curriculum' });
    expect(pl.needsTargetText).toBe(true);
    await expect(pl.compute(0, 3)).rejects.toThrow(/needs the target prompt features/);
    const first = await pl.compute(0, 3, wt);
    expect(first.lambda).toBe(0);
    expect([...first.labels]).toEqual([0, 0, 1, 1, 1, 1, 1]);
    const last = await pl.compute(2, 3, wt);
    expect(last.lambda).toBe(0.5);
    const pz = pl.probs(zs).arraySync();
    const pt = pl.probs(wt).arraySync();
    for (let i = 0; i < angles.length; i++) {
      const q = [0, 1].map((k) => 0.5 * pt[i]![k]! + 0.5 * pz[i]![k]!);
      expect(last.labels[i]).toBe(q[0]! >= q[1]! ? 0 : 1);
      expect(last.confidence[i]).toBeCloseTo(Math.max(...q), 5);
    }
    expect(last.labels[2]).toBe(0);
    pl.dispose();
    tf.dispose([xs, zs, wt]);
  });

  it("'curriculum+prototype' anchors the curriculum on the prototype distribution", async () => {
    const [xs, zs] = [x(), z()];
    const wt = tf.tensor2d([deg(0), deg(90)]);
    const pl = new PseudoLabeler(xs, zs, 10, { ...opts, correction: 'curriculum+prototype' });
    expect([...(await pl.compute(0, 3, wt)).labels]).toEqual(truth);
    const before = tf.memory().numTensors;
    await pl.compute(1, 3, wt);
    expect(tf.memory().numTensors).toBe(before);
    pl.dispose();
    tf.dispose([xs, zs, wt]);
  });
});
