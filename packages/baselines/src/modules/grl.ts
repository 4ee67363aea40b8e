/**
 * Gradient reversal layer (Ganin & Lempitsky, "Unsupervised Domain Adaptation by
 * Backpropagation", ICML 2015): identity forward, gradient multiplied by -coeff backward.
 *
 *   forward:  y = x
 *   backward: dL/dx = -coeff * dL/dy
 *
 * With DANN the coefficient warms up over training (see `grlCoefficient`), so that the
 * discriminator's noisy early gradients do not disturb the feature extractor.
 *
 * @example
 *   const reversed = gradientReverse(features, grlCoefficient(step, maxSteps)); // [N, D]
 *   const domainLogits = discriminator.apply(reversed, true);
 */
import * as tf from '@tensorflow/tfjs-core';

export function gradientReverse<T extends tf.Tensor>(x: T, coeff: number): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, -coeff),
  })) as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

/**
 * The coefficient schedule lambda(p) = 2 (hi - lo) / (1 + exp(-alpha p)) - (hi - lo) + lo with
 * p = step / maxSteps (p >= 0, not capped, so the coefficient keeps approaching hi past maxSteps).
 *
 * Published (Ganin et al. 2016, JMLR, section 5.2.2): alpha = 10, lo = 0, hi = 1, maxSteps = the
 * whole run, i.e. 2 / (1 + exp(-10 p)) - 1 with p the training progress in [0, 1].
 * TLlib's DomainAdversarialLoss (tllib/alignment/dann.py) warms up with
 * WarmStartGradientReverseLayer(alpha = 1, lo = 0, hi = 1, max_iters = 1000) instead, whose
 * coefficient is about 0.46 after 1000 steps and 0.99 after 5000.
 */
export function grlCoefficient(step: number, maxSteps: number, { alpha = 10, lo = 0, hi = 1 } = {}): number {
  const p = Math.max(0, step / Math.max(1, maxSteps));
  return (2 * (hi - lo)) / (1 + Math.exp(-alpha * p)) - (hi - lo) + lo;
}
