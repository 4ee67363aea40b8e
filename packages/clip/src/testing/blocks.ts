/**
 * The frozen residual block as one custom-gradient op (fused forward, hand-written backward,
 * native kernels where they run) against the same block as a graph of tfjs ops with tfjs's
 * autodiff, for layers.test.ts (tfjs kernels) and layers.native.test.ts (the native kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { Rng, disableNativeKernels, enableNativeKernels, selectBackend } from '@dampl/runtime';
import { causalMask } from '../attention.js';
import { residualBlock, residualBlockOps, residualBlockParams, residualBlockShapes } from '../block.js';
import { WeightStore } from '../weight-store.js';

const W = 16;
const HEADS = 4;

function randomBlock(seed: number): Map<string, tf.Tensor> {
  const rng = new Rng(seed);
  return new Map(residualBlockShapes('b', W).map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const base = name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') ? 1 : 0;
    return [name, tf.tensor(rng.normalArray(n, base, 0.3), shape)];
  }));
}

async function maxRelDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  return worst;
}

/** Same outputs and input gradients, fused and as the op graph, with or without the native kernels. */
export async function expectFusedBlockEqualsGraph(native: boolean, stores: WeightStore[]): Promise<void> {
  await selectBackend('wasm');
  if (native) enableNativeKernels('wasm');
  else disableNativeKernels('wasm');
  try {
    const store = new WeightStore(randomBlock(3));
    stores.push(store);
    const p = residualBlockParams(store, 'b', HEADS, true);
    expect(p.attn.parts?.[0].wt).toBeDefined();
    const x = tf.tensor3d(new Rng(4).normalArray(3 * 7 * W, 0, 1), [3, 7, W]);
    const dy = tf.tensor3d(new Rng(5).normalArray(3 * 7 * W, 0, 1), [3, 7, W]);
    const mask = causalMask(7);
    for (const m of [mask, undefined]) {
      const fused = residualBlock(x, p, m);
      const ops = residualBlockOps(x, p, m);
      expect(await maxRelDiff(fused, ops)).toBeLessThan(1e-5);
      const gFused = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(residualBlock(t as tf.Tensor3D, p, m), dy)))(x);
      const gOps = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(residualBlockOps(t as tf.Tensor3D, p, m), dy)))(x);
      expect(await maxRelDiff(gFused, gOps)).toBeLessThan(1e-4);
    }
    // without the transposed weights (image towers): the fused forward when nothing records
    // gradients, the op graph (and its gradient) when something does
    const store2 = new WeightStore(randomBlock(3));
    stores.push(store2);
    const q = residualBlockParams(store2, 'b', HEADS, false);
    expect(q.attn.parts?.[0].wt).toBeUndefined();
    expect(await maxRelDiff(residualBlock(x, q), residualBlockOps(x, p))).toBeLessThan(1e-5);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(residualBlock(t as tf.Tensor3D, q), dy)))(x);
    expect(await maxRelDiff(g, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(residualBlockOps(t as tf.Tensor3D, p), dy)))(x))).toBeLessThan(1e-4);
  } finally {
    enableNativeKernels('wasm');
  }
}
