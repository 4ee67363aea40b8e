/**
 * Multiple-kernel maximum mean discrepancy (MK-MMD), the alignment loss of DAN (Long et al.,
 * "Learning Transferable Features with Deep Adaptation Networks", ICML 2015), computed as TLlib
 * computes it (thuml/Transfer-Learning-Library tllib/alignment/dan.py
 * MultipleKernelMaximumMeanDiscrepancy, tllib/modules/kernels.py GaussianKernel with
 * track_running_stats and alpha 2^u):
 *
 *   X = [S; T]  [2B, D],   d2_ij = |x_i - x_j|^2,   k = sum_u k_u (equal weights)
 *   k_u(x_i, x_j) = exp(-d2_ij / (2 sigma_u^2)),   sigma_u^2 = 2^u * mean(d2)
 *
 * with the mean over all (2B)^2 entries of d2, the zero diagonal included, and not differentiated
 * (TLlib detaches it); u = -3..1 for DAN (five kernels). The loss is sum_ij k_ij W_ij with TLlib's
 * index matrix W (_update_index_matrix):
 *
 *   linear (DAN's choice for SGD): for i = 0..B-1, j = (i + 1) mod B,
 *     W[s_i, s_j] = W[t_i, t_j] = 1/B,   W[s_i, t_j] = W[s_j, t_i] = -1/B
 *     i.e. the mean over i of k(s_i, s_j) + k(t_i, t_j) - k(s_i, t_j) - k(s_j, t_i);
 *   quadratic (`linear: false`): 1/(B(B-1)) on the off-diagonal source-source and target-target
 *     entries, -1/B^2 on every source-target and target-source entry (the unbiased estimate).
 *
 * TLlib's forward also adds the constant 2/(B-1) to either estimate ("to make up for the value on
 * the diagonal"). It changes no gradient, so DAN trains the same with or without it; the loss
 * here leaves it out (`tllibConstant: true` adds it), so a transfer loss near 0 means the batches
 * are aligned. Inputs: source [B, D] and target [B, D] (same B >= 2). It agrees with TLlib's code to
 * 1e-6 relative in float32 on the fixed inputs whose TLlib numbers modules.test.ts holds.
 *
 * @example
 *   const loss = mkmmd(fs, ft);                     // scalar, the linear-time estimate
 *   const loss2 = mkmmd(fs, ft, { linear: false });  // all pairs
 */
import * as tf from '@tensorflow/tfjs-core';
import { DamplError, matMul, stopGradient } from '@dampl/runtime';

export interface MkmmdOptions {
  /** Exponents u of the bandwidth multipliers 2^u; DAN uses five kernels around the mean distance. */
  exponents?: number[];
  linear?: boolean;
  /** Add TLlib's constant 2/(B-1) (no gradient; off by default). */
  tllibConstant?: boolean;
}

/** Pairwise squared distances [N, M] between rows of a [N, D] and b [M, D]. */
function pairwiseSquaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const a2 = tf.sum(tf.square(a), 1, true); // [N, 1]
    const b2 = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]); // [1, M]
    const ab = matMul(a, tf.transpose(b)); // [N, M]
    return tf.relu(tf.sub(tf.add(a2, b2), tf.mul(ab, 2))) as tf.Tensor2D;
  });
}

export function mkmmd(source: tf.Tensor2D, target: tf.Tensor2D, { exponents = [-3, -2, -1, 0, 1], linear = true, tllibConstant = false }: MkmmdOptions = {}): tf.Scalar {
  const b = source.shape[0];
  if (target.shape[0] !== b) throw new DamplError(`mkmmd: source batch ${b} and target batch ${target.shape[0]} differ`, 'draw the same number of source and target features per step');
  if (b < 2) throw new DamplError(`mkmmd: a batch of ${b} has no pairs`, 'use a batch size of at least 2');
  const constant = tllibConstant ? 2 / (b - 1) : 0;
  return tf.tidy(() => {
    const x = tf.concat([source, target], 0); // [2B, D]
    const d2 = pairwiseSquaredDistances(x, x); // [2B, 2B]
    const n = 2 * b;
    // TLlib: torch.mean over all n^2 entries, diagonal included; floored so that a batch of
    // identical features (e.g. dead ReLUs) gives MMD 0 instead of NaN
    const meanD2 = tf.maximum(stopGradient(tf.mean(d2)), 1e-12);
    let k: tf.Tensor2D = tf.zerosLike(d2);
    for (const u of exponents) k = tf.add(k, tf.exp(tf.div(tf.neg(d2), tf.mul(meanD2, 2 * 2 ** u)))) as tf.Tensor2D;
    if (!linear) {
      // unbiased: the diagonal k(x, x) = |kernels| is left out of the within-domain means
      const diag = exponents.length * b;
      const ss = tf.div(tf.sub(tf.sum(k.slice([0, 0], [b, b])), diag), b * (b - 1));
      const tt = tf.div(tf.sub(tf.sum(k.slice([b, b], [b, b])), diag), b * (b - 1));
      const st = tf.mean(k.slice([0, b], [b, b]));
      return tf.add(tf.sub(tf.add(ss, tt), tf.mul(st, 2)), constant) as tf.Scalar;
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
    return tf.add(tf.div(tf.sum(tf.mul(k, tf.tensor2d(w, [n, n]))), b), constant) as tf.Scalar;
  });
}
