/**
 * Contrastive image-text pretraining of a CLIP (Radford et al. 2021, section 2.3): for a batch of
 * B matching (image, text) pairs,
 *
 *   I = norm(encodeImage(x)) [B, E],  T = norm(encodeText(t)) [B, E],  S = exp(logit_scale) I T^T
 *   L = (CE(S, arange B) + CE(S^T, arange B)) / 2
 *
 * with logit_scale clamped at ln(100) as in CLIP. When several pairs of a batch share the same
 * text, `textIds` [B] marks them and every image is matched to all copies of its text (the
 * multi-positive target of UniCL, Yang et al. 2022), so that repeated captions are not pushed
 * apart as negatives. Used to train the small CLIP of the synthetic world; the model must be made
 * with `trainable: true` (see `clipVariables`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '@dampl/runtime';

/** Symmetric InfoNCE over a batch of matching pairs; features are normalised inside. */
export function clipContrastiveLoss(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, logitScale: tf.Tensor, textIds?: ArrayLike<number>): tf.Scalar {
  return tf.tidy(() => {
    const b = imageFeatures.shape[0];
    const i = tf.div(imageFeatures, tf.norm(imageFeatures, 'euclidean', 1, true));
    const t = tf.div(textFeatures, tf.norm(textFeatures, 'euclidean', 1, true));
    const scale = tf.exp(tf.minimum(tf.reshape(logitScale, []), Math.log(100)));
    const logits = tf.mul(matMul(i as tf.Tensor2D, tf.transpose(t) as tf.Tensor2D), scale) as tf.Tensor2D; // [B, B]
    const target = new Float32Array(b * b);
    for (let r = 0; r < b; r++) {
      let n = 0;
      for (let c = 0; c < b; c++) if (textIds ? textIds[r] === textIds[c] : r === c) { target[r * b + c] = 1; n++; }
      for (let c = 0; c < b; c++) target[r * b + c] /= n;
    }
    const labels = tf.tensor2d(target, [b, b]); // rows sum to 1; symmetric, so it serves both directions
    const rows = tf.losses.softmaxCrossEntropy(labels, logits);
    const cols = tf.losses.softmaxCrossEntropy(labels, tf.transpose(logits));
    return tf.div(tf.add(rows, cols), 2) as tf.Scalar;
  });
}
