/**
 * Prediction from fixed class text features, as every prompt method predicts once trained:
 * p(k | x) = softmax_k(s * cos(x, w_k)), x the image features [N, E], w the text features [K, E].
 */
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32 } from '@dampl/runtime';
import { cosineLogits, l2Normalize } from './losses.js';
import { argmaxRows, checkFeatures, type FeatureMatrix, type Prediction } from './methods.js';

/** Predictor from fixed target text features: p(k|x) = softmax_k(s * cos(x, w_k)). */
export class TextPredictor {
  constructor(private readonly text: tf.Tensor2D, private readonly scale: number, private readonly chunk = 4096) {}

  /** Features cross to the device and probabilities back once per chunk of `chunk` rows. */
  async predict(features: FeatureMatrix): Promise<Prediction> {
    checkFeatures(features, 'features to predict', this.text.shape[1]);
    const K = this.text.shape[0];
    const probs = new Float32Array(features.rows * K);
    for (let r0 = 0; r0 < features.rows; r0 += this.chunk) {
      const r1 = Math.min(features.rows, r0 + this.chunk);
      const p = tf.tidy(() => {
        const x = l2Normalize(tf.tensor2d(features.data.subarray(r0 * features.dim, r1 * features.dim), [r1 - r0, features.dim]));
        return tf.softmax(cosineLogits(x, this.text, this.scale));
      });
      probs.set(await takeFloat32(p), r0 * K);
    }
    return { probs, labels: argmaxRows(probs, K) };
  }

  dispose(): void {
    this.text.dispose();
  }
}
