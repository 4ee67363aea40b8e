/**
 * The losses of DAMPL, each a small function over tfjs tensors. Shapes: B samples in a batch,
 * K classes, E the joint embedding size. All are differentiable with respect to their tensor
 * inputs and allocate only tensors that the caller's tf.tidy collects.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '@dampl/runtime';

/** Row-wise L2 normalisation x / ||x||, as CLIP normalises its features. [N, E] -> [N, E]. */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.div(x, tf.norm(x, 'euclidean', -1, true));
}

/**
 * CLIP's classification logits: logits_{ik} = s * cos(f_i, w_k).
 *
 * @param imageFeatures [B, E], already L2-normalised
 * @param textFeatures  [K, E], already L2-normalised
 * @param scale s = exp(CLIP logit_scale), `model.logitScale`
 * @returns [B, K]
 *
 * @example
 *   const logits = cosineLogits(l2Normalize(x), textFeatures, clip.logitScale);
 */
export function cosineLogits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.mul(matMul(imageFeatures, tf.transpose(textFeatures)), scale);
}

/**
 * Softmax with temperature T: p = softmax(logits / T). DAPL (LeapLabTHU/DAPrompt
 * trainers/dapl.py, TRAINER.DAPL.T) forms its pseudo-label distribution this way, T = 1.0.
 * [B, K] -> [B, K].
 */
export function softmaxT(logits: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  return tf.softmax(temperature === 1 ? logits : tf.div<tf.Tensor2D>(logits, temperature));
}

function labelTensor(labels: Int32Array | tf.Tensor1D): tf.Tensor1D {
  return labels instanceof tf.Tensor ? labels : tf.tensor1d(labels, 'int32');
}

/**
 * Per-sample cross-entropy: ce_i = -log softmax(logits_i)[y_i].
 *
 * @param logits [B, K]
 * @param labels [B] int32 class indices
 * @returns [B]
 */
function perSampleCrossEntropy(logits: tf.Tensor2D, labels: Int32Array | tf.Tensor1D): tf.Tensor1D {
  const k = logits.shape[1];
  const onehot = tf.oneHot(labelTensor(labels), k).toFloat();
  return tf.neg(tf.sum<tf.Tensor1D>(tf.mul(onehot, tf.logSoftmax(logits)), 1));
}

/**
 * Source loss: mean cross-entropy L_src = (1/B) sum_i -log p(y_i | x_i).
 *
 * @param logits [B, K] (source-domain prompts)
 * @param labels [B] int32
 * @returns scalar
 *
 * @example
 *   const lSrc = crossEntropy(cosineLogits(xs, wSource, s), ys);
 */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array | tf.Tensor1D): tf.Scalar {
  return tf.mean(perSampleCrossEntropy(logits, labels));
}

/**
 * Target loss against pseudo-labels kept by confidence:
 *
 *   m_i = [c_i >= tau],  L_tgt = sum_i m_i * ce(logits_i, yhat_i) / sum_i m_i
 *
 * the mean over kept samples, as DAPL's `loss_u` (trainers/dapl.py). Where DAPL divides by
 * mask.sum() and gets NaN on a batch with no kept sample, this returns 0 (with zero gradient).
 *
 * @param logits [B, K] (target-domain prompts)
 * @param pseudoLabels [B] int32 yhat_i
 * @param confidence [B] c_i, the max probability of the pseudo-label distribution
 * @param tau keep threshold (DAPL TRAINER.DAPL.TAU = 0.5)
 * @returns scalar
 *
 * @example
 *   const lTgt = maskedCrossEntropy(cosineLogits(xt, wTarget, s), yhat, conf, 0.5);
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, pseudoLabels: Int32Array | tf.Tensor1D,
  confidence: Float32Array | tf.Tensor1D, tau: number): tf.Scalar {
  const c = confidence instanceof tf.Tensor ? confidence : tf.tensor1d(confidence);
  const mask = tf.greaterEqual(c, tau).toFloat();
  const kept = tf.sum(mask);
  return tf.div(tf.sum(tf.mul(perSampleCrossEntropy(logits, pseudoLabels), mask)), tf.maximum(kept, 1));
}

/**
 * Row entropies H(p_i) = -sum_k p_ik log(p_ik + eps), with SHOT's eps inside the log
 * (tim-learn/SHOT object/loss.py `Entropy`, epsilon = 1e-5). [B, K] -> [B].
 */
export function entropy(probs: tf.Tensor2D, eps = 1e-5): tf.Tensor1D {
  return tf.neg(tf.sum<tf.Tensor1D>(tf.mul(probs, tf.log(tf.add(probs, eps))), 1));
}

/**
 * Information maximisation loss of SHOT (Liang et al., ICML 2020; tim-learn/SHOT
 * object/image_target.py, `ent` and `gent` terms, args.epsilon = 1e-5):
 *
 *   L_IM = (1/B) sum_i H(p_i) - H(pbar),   pbar = (1/B) sum_i p_i,
 *   H(p) = -sum_k p_k log(p_k + eps)
 *
 * Minimising it makes each prediction confident (first term) and the batch's predictions
 * diverse across classes (second term). SHOT weights it by ent_par = 1.0.
 *
 * @param probs [B, K] target probabilities p_target(k | x_i)
 * @returns scalar
 *
 * @example
 *   const lIm = imLoss(tf.softmax(cosineLogits(xt, wTarget, s)));
 */
export function imLoss(probs: tf.Tensor2D, eps = 1e-5): tf.Scalar {
  const conditional = tf.mean(entropy(probs, eps));
  const mean = tf.mean(probs, 0, true) as tf.Tensor2D;
  const marginal = tf.sum(entropy(mean, eps));
  return tf.sub(conditional, marginal);
}
