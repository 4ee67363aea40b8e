import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { multilinearMap } from './cdan.js';
import { mccLoss } from './mcc.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('MCC loss', () => {
  it('is (K-1)/K for uniform predictions and near 0 for confident, distinct ones', () => {
    const K = 4;
    expect(mccLoss(tf.zeros([6, K]), 2.5).dataSync()[0]).toBeCloseTo((K - 1) / K, 5);
    const confident = tf.mul(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32'), K).toFloat(), 100) as tf.Tensor2D;
    expect(mccLoss(confident, 1).dataSync()[0]).toBeLessThan(1e-3);
  });

  it('matches a hand computation on two samples', () => {
    // T = 1, logits give p1 = (0.8, 0.2), p2 = (0.3, 0.7)
    const p = [[0.8, 0.2], [0.3, 0.7]];
    const logits = tf.tensor2d(p.map((r) => r.map(Math.log)));
    const H = p.map((r) => -r.reduce((a, v) => a + v * Math.log(v + 1e-5), 0));
    const w0 = H.map((h) => 1 + Math.exp(-h));
    const w = w0.map((v) => (2 * v) / (w0[0]! + w0[1]!));
    const c = [0, 1].map((j) => [0, 1].map((k) => w[0]! * p[0]![j]! * p[0]![k]! + w[1]! * p[1]![j]! * p[1]![k]!));
    const col = [0, 1].map((k) => c[0]![k]! + c[1]![k]!);
    const cn = c.map((r) => r.map((v, k) => v / col[k]!));
    const want = (cn[0]![1]! + cn[1]![0]!) / 2;
    expect(mccLoss(logits, 1).dataSync()[0]).toBeCloseTo(want, 5);
  });
});

describe('CDAN multilinear map', () => {
  it('is the flattened outer product g (x) f, or the randomized product', () => {
    const f = tf.tensor2d([[1, 2, 3]]);
    const g = tf.tensor2d([[0.25, 0.75]]);
    expect(Array.from(multilinearMap(f, g).dataSync())).toEqual([0.25, 0.5, 0.75, 0.75, 1.5, 2.25]);
    const rf = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const rg = tf.tensor2d([[2, 0], [0, 2]]);
    // f rf = (4, 5), g rg = (0.5, 1.5), product / sqrt(2)
    const r = multilinearMap(f, g, { rf, rg }).dataSync();
    expect(r[0]).toBeCloseTo(2 / Math.SQRT2, 5);
    expect(r[1]).toBeCloseTo(7.5 / Math.SQRT2, 5);
  });
});
