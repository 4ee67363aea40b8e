/**
 * tfjs-core registers neither gradients nor chained tensor methods (`x.matMul(y)`) by itself
 * (the `@tensorflow/tfjs` bundle does); importing this module, which '@dampl/runtime' does,
 * registers both once for every package. Those registration modules exist only as ES modules
 * with extensionless imports: under plain Node a resolution hook (tfjs-esm-hook.mjs) is installed
 * first; under Vite/Vitest, which resolve them natively, it is not needed.
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './native.js';

if (!process.env.VITEST) register('./tfjs-esm-hook.mjs', import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');

/**
 * Reads tensors to the host in one device-to-host transfer: flattened and joined on the device
 * (cast to float32), split here into copies the caller owns. Model code reads tensors only this
 * way or through `await t.data()`: the webgpu backend has no synchronous read in Node.
 */
export async function readFloat32(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  if (!tensors.length) return [];
  const one = tensors.length === 1 && tensors[0]!.dtype === 'float32';
  const joined = one ? tensors[0]! : tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]))));
  let data: Float32Array;
  try {
    data = (await joined.data()) as Float32Array;
  } finally {
    if (!one) joined.dispose();
  }
  const out: Float32Array[] = [];
  let at = 0;
  for (const t of tensors) {
    out.push(data.slice(at, at + t.size));
    at += t.size;
  }
  return out;
}

/** A float32 tensor's values, read to the host; the tensor is disposed, also when the read fails. */
export async function takeFloat32(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Identity forward, zero gradient backward (tfjs has no stop_gradient op). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({ value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

const swapLast = (t: tf.Tensor): tf.Tensor => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [...Array(t.rank - 2).keys(), t.rank - 1, t.rank - 2]));

/**
 * op(a) @ op(b), op transposing the last two axes where asked: passed to the kernel as flags when
 * the native BLAS runs the backend's products (it reads transposed operands at full speed),
 * transposed explicitly first otherwise (on tfjs-wasm a product with a transposed operand takes a
 * path 10-20x slower than transposing first). Not differentiable by itself: for gradients' insides.
 */
export function matMulTransposed<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  const explicit = !nativeKernelsActive();
  const [x, y] = [explicit && transposeA ? swapLast(a) : a, explicit && transposeB ? swapLast(b) : b];
  return tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, !explicit && transposeA, !explicit && transposeB) as unknown as T;
}

/**
 * Matrix product a @ b (rank 2, or rank 3 batched with equal batch sizes) whose gradients
 *   da = dy @ b^T,  db = a^T @ dy
 * take `matMulTransposed`'s fast route for their transposed operands. The result is the same as
 * tf.matMul's.
 */
export function matMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: tf.Tensor2D | tf.Tensor3D): T {
  const f = tf.customGrad(((x: tf.Tensor, y: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as [tf.Tensor, tf.Tensor];
        let dx = matMulTransposed(dy, ys, false, true);
        let dw = matMulTransposed(xs, dy, true, false);
        // a rank-2 operand broadcast against a batched one: sum its gradient over the batch
        if (xs.rank === 2 && dx.rank === 3) dx = tf.sum(dx, 0);
        if (ys.rank === 2 && dw.rank === 3) dw = tf.sum(dw, 0);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (x: tf.Tensor, y: tf.Tensor) => tf.Tensor)(a, b) as T;
}
