/**
 * CLIP's layers: linear, LayerNorm, BatchNorm (eval) and QuickGELU, with the parameter types the
 * towers take from a WeightStore (weight-store.ts). Attention is attention.ts, the residual
 * block and the transformer block.ts.
 *
 * Speed on the wasm backend: a 2-D matMul with transposeA/transposeB, and any batched matMul,
 * leaves XNNPACK for a naive loop that runs 10-20x slower, so
 *   - linear weights are transposed once at load time to [in, out] and the forward product is a
 *     plain 2-D matMul; layers on a gradient path also keep the [out, in] original, and their
 *     custom gradient dx = dy @ W^T is a plain 2-D matMul too (tfjs's own would use transposeB);
 *   - LayerNorm and QuickGELU have custom gradients that save only their input, which halves the
 *     memory a text-tower backward pass holds (wasm memory stops at 4 GB).
 * Frozen weights (every use but training the model itself) take these custom gradients, which
 * give d/dx only. Trainable weights (a WeightStore made with `trainable: true`, tf.Variables) take
 * the plain autograd path instead, with runtime's matMul so that the products stay fast.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '@dampl/runtime';

/** OpenAI CLIP's LayerNorm epsilon (torch's default). */
export const LN_EPS = 1e-5;
/** BatchNorm2d epsilon (torch's default). */
export const BN_EPS = 1e-5;

export interface Linear {
  /** [in, out]: the transpose of torch's nn.Linear weight. */
  w: tf.Tensor2D;
  /** [out, in], torch's layout; when present, the gradient w.r.t. the input uses it. */
  wt?: tf.Tensor2D;
  b?: tf.Tensor1D;
}

export interface Norm {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export interface BatchNorm extends Norm {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

export type GradFunc = Parameters<typeof tf.customGrad>[0];

/** True for the tf.Variables of a model being trained (gradients with respect to weights wanted). */
export const isTrainable = (t: tf.Tensor): boolean => (t as tf.Variable).trainable === true;

/** x [M, in] @ w + b with d/dx = dy @ wt as a plain matMul; no tensor is saved for backward. */
function linear2d(x: tf.Tensor2D, p: Linear): tf.Tensor2D {
  const { w, wt, b } = p;
  if (isTrainable(w)) {
    const y = matMul(x, w);
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  }
  const forward = (input: tf.Tensor2D): tf.Tensor2D => {
    const y = tf.matMul(input, w) as tf.Tensor2D;
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  };
  if (!wt) return forward(x);
  const f = tf.customGrad(((input: tf.Tensor2D) => ({
    value: forward(input),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, wt),
  })) as GradFunc);
  return f(x) as tf.Tensor2D;
}

/** x @ w + b over the last axis, as one 2-D matMul: [..., in] -> [..., out]. */
export function linear<T extends tf.Tensor>(x: T, p: Linear): T {
  const shape = x.shape;
  if (shape.length === 2) return linear2d(x as unknown as tf.Tensor2D, p) as unknown as T;
  const y = linear2d(tf.reshape(x, [-1, shape[shape.length - 1]!]), p); // [M, out]
  return tf.reshape(y, [...shape.slice(0, -1), p.w.shape[1]]) as T;
}

/**
 * LayerNorm over the last axis with biased variance, as torch computes it. Its gradient saves
 * only x: with xhat = (x - mean) * r, r = 1 / sqrt(var + eps), g = dy * weight,
 * dx = r * (g - mean(g) - xhat * mean(g * xhat)).
 */
export function layerNorm<T extends tf.Tensor>(x: T, p: Norm, eps = LN_EPS): T {
  if (isTrainable(p.weight)) return tf.add(tf.mul(normalise(x, eps).xhat, p.weight), p.bias) as T;
  const f = tf.customGrad(((input: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([input]);
    return {
      value: tf.add(tf.mul(normalise(input, eps).xhat, p.weight), p.bias),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.tidy(() => layerNormBackward(saved!, dy, p, eps)),
    };
  }) as GradFunc);
  return f(x) as T;
}

/** LayerNorm's normalised input and 1/sqrt(var + eps) over the last axis. */
export function normalise(x: tf.Tensor, eps = LN_EPS): { xhat: tf.Tensor; r: tf.Tensor } {
  const { mean, variance } = tf.moments(x, -1, true);
  const r = tf.rsqrt(tf.add(variance, eps));
  return { xhat: tf.mul(tf.sub(x, mean), r), r };
}

/** d/dx of LayerNorm(x) * weight + bias given dy (see layerNorm). */
export function layerNormBackward(x: tf.Tensor, dy: tf.Tensor, p: Norm, eps = LN_EPS): tf.Tensor {
  const { xhat, r } = normalise(x, eps);
  const g = tf.mul(dy, p.weight);
  return tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))), r);
}

/** BatchNorm2d in eval mode (running statistics) over the channel axis of NHWC input. */
export function batchNorm(x: tf.Tensor4D, p: BatchNorm, eps = BN_EPS): tf.Tensor4D {
  return tf.batchNorm4d(x, p.mean, p.variance, p.bias, p.weight, eps);
}

/**
 * QuickGELU: x * sigmoid(1.702 x). Its gradient saves only x:
 * d/dx = s + 1.702 x s (1 - s), s = sigmoid(1.702 x).
 */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([input]);
    return {
      value: tf.mul(input, tf.sigmoid(tf.mul(input, 1.702))),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.tidy(() => {
        const s = tf.sigmoid(tf.mul(saved!, 1.702));
        const ds = tf.mul(tf.mul(saved!, 1.702), tf.mul(s, tf.sub(1, s)));
        return tf.mul(dy, tf.add(s, ds));
      }),
    };
  }) as GradFunc);
  return f(x) as T;
}
