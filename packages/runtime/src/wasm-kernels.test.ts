import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import './ops.js'; // registers tfjs's gradients

beforeAll(async () => {
  await selectBackend('wasm', { native: false });
});

describe('wasm Identity (shareWasmIdentity, installed by selectBackend)', () => {
  it('clones without copying, and each tensor outlives the other', () => {
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers - before).toBe(1); // one buffer for both
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const z = tf.clone(y);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4]);
    z.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it('keeps saved tensors of a custom gradient valid after the forward scope ends, and a variable unchanged by later assigns of its clone', () => {
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const f = tf.customGrad(((a: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
      const sq = tf.square(a);
      save([a, sq]);
      return { value: sq, gradFunc: (dy: tf.Tensor, [sa]: tf.Tensor[]) => tf.mul(dy, tf.mul(sa!, 2)) };
    }) as Parameters<typeof tf.customGrad>[0]);
    const { value, grads } = tf.variableGrads(() => tf.sum(f(x) as tf.Tensor) as tf.Scalar, [x]);
    expect(value.dataSync()[0]).toBe(14);
    expect(Array.from(grads[x.name]!.dataSync())).toEqual([2, -4, 6]);
    const c = tf.clone(x);
    x.assign(tf.tensor1d([0, 0, 0]));
    expect(Array.from(c.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([value, grads[x.name]!, c, x]);
  });
});
