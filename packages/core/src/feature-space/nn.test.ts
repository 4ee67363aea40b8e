import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@dampl/runtime';
import { BatchNorm1d, Linear } from './nn.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('layers', () => {
  it('BatchNorm1d normalises with batch statistics in training and running ones in eval', () => {
    const bn = new BatchNorm1d(2);
    const x = tf.tensor2d([[1, 10], [3, 30]]);
    const y = bn.apply(x, true).arraySync();
    expect(y[0]![0]).toBeCloseTo(-1, 3);
    expect(y[1]![1]).toBeCloseTo(1, 3);
    // running mean moved 10% of the way to the batch mean; running var to the unbiased variance
    const rm = bn.runningMean.dataSync();
    expect(rm[0]).toBeCloseTo(0.2, 6);
    expect(rm[1]).toBeCloseTo(2, 6);
    const rv = bn.runningVar.dataSync();
    expect(rv[0]).toBeCloseTo(0.9 + 0.1 * 2, 5);
    const e = bn.apply(tf.tensor2d([[0.2, 2]]), false).dataSync();
    expect(e[0]).toBeCloseTo(0, 5);
  });

  it('Linear is seeded and uses +-1/sqrt(fan_in) initialisation', () => {
    const a = new Linear(16, 4, new Rng(1));
    const b = new Linear(16, 4, new Rng(1));
    expect(Array.from(a.w.dataSync())).toEqual(Array.from(b.w.dataSync()));
    expect(Math.max(...Array.from(a.w.dataSync()).map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(a.apply(tf.ones([3, 16])).shape).toEqual([3, 4]);
  });
});
