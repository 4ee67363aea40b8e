/**
 * tfjs-core registers neither gradients nor chained tensor methods (`x.matMul(y)`) by itself
 * (the `@tensorflow/tfjs` bundle does); importing this module, which '@dampl/runtime' does,
 * registers both once for every package.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tf from '@tensorflow/tfjs-core';

/** Identity forward, zero gradient backward (tfjs has no stop_gradient op). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({ value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}
