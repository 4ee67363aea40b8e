/**
 * tfjs-core registers neither gradients nor chained tensor methods (`x.matMul(y)`) by itself
 * (the `@tensorflow/tfjs` bundle does); importing this module, which '@dampl/runtime' does,
 * registers both once for every package. Those registration modules exist only as ES modules
 * with extensionless imports: under plain Node a resolution hook (tfjs-esm-hook.mjs) is installed
 * first; under Vite/Vitest, which resolve them natively, it is not needed.
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

if (!process.env.VITEST) register('./tfjs-esm-hook.mjs', import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');

/** Identity forward, zero gradient backward (tfjs has no stop_gradient op). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({ value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}
