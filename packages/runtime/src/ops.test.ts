import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { matMul, stopGradient } from './ops.js';
import { Rng } from './rng.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-5) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  expect(m).toBeLessThan(tol);
};

describe('matMul with explicit-transpose gradients', () => {
  const rng = new Rng(5);
  const t = (...shape: number[]) => tf.tensor(rng.normalArray(shape.reduce((p, q) => p * q, 1)), shape);

  it.each([
    ['2-D', [7, 5], [5, 3]],
    ['batched', [4, 7, 5], [4, 5, 3]],
    ['batched @ 2-D', [4, 7, 5], [5, 3]],
  ])('%s: same value and gradients as tf.matMul', (_, sa, sb) => {
    const a = t(...sa);
    const b = t(...sb);
    const probe = t(...[...sa.slice(0, -1), sb.at(-1)!]);
    close(matMul(a as tf.Tensor2D, b as tf.Tensor2D), tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D), probe)))([a, b]);
    // reference: tf.matMul's own gradients (for a batched @ 2-D product, which tfjs's gradient
    // does not broadcast, the same product on the flattened rows)
    const refProduct = (x: tf.Tensor, y: tf.Tensor) => (x.rank === 3 && y.rank === 2
      ? tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[2]!]) as tf.Tensor2D, y as tf.Tensor2D), [...x.shape.slice(0, 2), y.shape[1]!])
      : tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D));
    const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(refProduct(x, y), probe)))([a, b]);
    close(ours[0]!, ref[0]!);
    close(ours[1]!, ref[1]!);
  });

  it('stopGradient passes values and blocks gradients', () => {
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, stopGradient(v))))(x).dataSync())).toEqual([1, 2, 3]);
  });
});
