/**
 * Multiple-kernel maximum mean discrepancy (MK-MMD), the alignment loss of DAN (Long et al.,
 * "Learning Transferable Features with Deep Adaptation Networks", ICML 2015).
 *
 *   MMD^2(S, T) = E[k(s, s')] + E[k(t, t')] - 2 E[k(s, t)],   k = sum_u k_u (equal weights)
 *   k_u(a, b)  = exp(-|a - b|^2 / (2 sigma_u^2)),  sigma_u^2 = 2^u * mean pairwise |a - b|^2
 *                over the joint batch, u = -3..1 (five Gaussian kernels)
 *
 * Inputs: source [B, D] and target [B, D] features (same B). The linear-time estimator (DAN's
 * choice for SGD) averages h over B pairs of quadruples (s_i, s_{i+1}, t_i, t_{i+1}) with
 *   h = k(s_i, s_{i+1}) + k(t_i, t_{i+1}) - k(s_i, t_{i+1}) - k(s_{i+1}, t_i),
 * indices taken cyclically; the quadratic (unbiased, all pairs) estimator is the option
 * `linear: false`. The bandwidth statistic is not differentiated (as in TLlib).
 *
 * @example
 *   const loss = mkmmd(fs, ft);                     // scalar
 *   const loss2 = mkmmd(fs, ft, { linear: false });  // all pairs
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, stopGradient } from '@dampl/runtime';

export interface MkmmdOptions {
  /** Exponents u of the bandwidth multipliers 2^u; DAN uses five kernels around the mean distance. */
  exponents?: number[];
  linear?: boolean;
}

/** Pairwise squared distances [N, M] between rows of a [N, D] and b [M, D]. */
export function pairwiseSquaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const a2 = tf.sum(tf.square(a), 1, true); // [N, 1]
    const b2 = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]); // [1, M]
    const ab = matMul(a, tf.transpose(b)); // [N, M]
    return tf.relu(tf.sub(tf.add(a2, b2), tf.mul(ab, 2))) as tf.Tensor2D;
  });
}

export function mkmmd(source: tf.Tensor2D, target: tf.Tensor2D, { exponents = [-3, -2, -1, 0, 1], linear = true }: MkmmdOptions = {}): tf.Scalar {
  const b = source.shape[0];
  if (target.shape[0] !== b) throw new Error(`mkmmd: source batch ${b} and target batch ${target.shape[0]} differ`);
  return tf.tidy(() => {
    const x = tf.concat([source, target], 0); // [2B, D]
    const d2 = pairwiseSquaredDistances(x, x); // [2B, 2B]
    const n = 2 * b;
    // floored so that a batch of identical features (e.g. dead ReLUs) gives MMD 0 instead of NaN
    const meanD2 = tf.maximum(stopGradient(tf.div(tf.sum(d2), n * n - n)), 1e-12);
    let k: tf.Tensor2D = tf.zerosLike(d2);
    for (const u of exponents) k = tf.add(k, tf.exp(tf.div(tf.neg(d2), tf.mul(meanD2, 2 * 2 ** u)))) as tf.Tensor2D;
    if (!linear) {
      // unbiased: the diagonal k(x, x) = |kernels| is left out of the within-domain means
      const diag = exponents.length * b;
      const ss = tf.div(tf.sub(tf.sum(k.slice([0, 0], [b, b])), diag), b * (b - 1));
      const tt = tf.div(tf.sub(tf.sum(k.slice([b, b], [b, b])), diag), b * (b - 1));
      const st = tf.mean(k.slice([0, b], [b, b]));
      return tf.sub(tf.add(ss, tt), tf.mul(st, 2)) as tf.Scalar;
    }
    // linear-time estimator: weights on the (i, i+1) quadruples, gathered from the kernel matrix
    const w = new Float32Array(n * n);
    for (let i = 0; i < b; i++) {
      const j = (i + 1) % b;
      w[i * n + j] += 1; // k(s_i, s_j)
      w[(b + i) * n + (b + j)] += 1; // k(t_i, t_j)
      w[i * n + (b + j)] -= 1; // k(s_i, t_j)
      w[j * n + (b + i)] -= 1; // k(s_j, t_i)
    }
    return tf.div(tf.sum(tf.mul(k, tf.tensor2d(w, [n, n]))), b) as tf.Scalar;
  });
}
