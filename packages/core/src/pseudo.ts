/**
 * Target pseudo-labels and their semantic-guided correction.
 *
 * Notation: x_i the L2-normalised target training features [Nt, E]; z_k the zero-shot text
 * features of "a photo of a {class}." (or a template ensemble) [K, E], computed once per run;
 * w_k the current target-domain prompt features (detached); s = CLIP's logit scale; T the
 * pseudo-label temperature (DAPL's TRAINER.DAPL.T).
 *
 *   p_zs(k|x_i)  = softmax_k(s * cos(x_i, z_k) / T)          zero-shot CLIP, fixed for the run
 *   p_tgt(k|x_i) = softmax_k(s * cos(x_i, w_k) / T)          current target prompts, per epoch
 *
 * Corrections (config `correction`), recomputed at the start of every epoch e = 0..E-1 over all
 * target training features:
 *
 *   none                  q = p_zs                                     (DAPL)
 *   prototype             q = p_proto
 *   curriculum            q = lambda_e * p_tgt + (1 - lambda_e) * p_zs
 *   curriculum+prototype  q = lambda_e * p_tgt + (1 - lambda_e) * p_proto   (default)
 *
 *   lambda_e = lambda0 + (lambda1 - lambda0) * r(e / (E - 1)),  r(t) = t (linear) or
 *   (1 - cos(pi t)) / 2 (cosine)
 *
 * p_proto comes from class prototypes of the target features seeded by the text embeddings and
 * guided by the zero-shot distribution: c_k starts at z_k; each sample is assigned to
 * a_i = argmax_k p_zs(k|x_i) and weighted by its confidence w_i = max_k p_zs(k|x_i); then
 * `protoIters` times
 *
 *   c_k <- normalise(sum_{i: a_i = k} w_i x_i)   (kept when no sample is assigned to k)
 *   a_i <- argmax_k cos(x_i, c_k)
 *
 * and p_proto(k|x_i) = softmax_k(s * cos(x_i, c_k) / T). It depends on the zero-shot classifier
 * and the target features only, so it is computed once per run. A sample keeps its pseudo-label
 * yhat_i = argmax_k q_ik when its confidence max_k q_ik >= tau.
 *
 * Why this form: zero-shot CLIP is the only label source at the start, but its errors are
 * per-sample (a text classifier's boundaries cut through the target domain's clusters) and its
 * confidence is uneven across classes, so thresholding at tau leaves some classes nearly
 * without pseudo-labels. Text-seeded prototypes move each class centre to its target cluster,
 * keeping cluster k tied to class k through its seed (as SHOT's self-supervised labelling,
 * tim-learn/SHOT object/image_target.py `obtain_label`, runs two weighted k-means rounds seeded
 * by its classifier), and label whole clusters, so every class keeps confident samples. The
 * curriculum then lets the learned target prompts, which know the target domain through
 * training, take a growing share (from lambda0 = 0: at the start they know nothing; up to
 * lambda1 = 0.5: never more than the semantic anchor, against confirmation bias). On the toy
 * problem of the tests (a fake text tower, a shifted target domain) the prototype anchor is what
 * prevents the learned prompts from collapsing onto the classes zero-shot is confident about;
 * the ablation configs measure each part on the benchmarks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32 } from '@dampl/runtime';
import { cosineLogits, l2Normalize, softmaxT } from './losses.js';

export const CORRECTIONS = ['none', 'curriculum', 'prototype', 'curriculum+prototype'] as const;
export type Correction = (typeof CORRECTIONS)[number];

export interface PseudoLabelOptions {
  correction: Correction;
  /** Keep threshold on max_k q (DAPL TRAINER.DAPL.TAU). */
  tau: number;
  /** T (DAPL TRAINER.DAPL.T). */
  temperature: number;
  lambda0: number;
  lambda1: number;
  lambdaSchedule: 'linear' | 'cosine';
  protoIters: number;
}

export interface PseudoLabels {
  /** yhat_i [Nt]. */
  labels: Int32Array;
  /** max_k q_ik [Nt]. */
  confidence: Float32Array;
  /** 1 where confidence >= tau [Nt]. */
  keep: Uint8Array;
  /** Fraction kept. */
  coverage: number;
  /** lambda_e when the correction uses the curriculum. */
  lambda?: number;
}

/** lambda_e for 0-based epoch `epoch` of `epochs`. */
export function curriculumLambda(epoch: number, epochs: number, o: Pick<PseudoLabelOptions, 'lambda0' | 'lambda1' | 'lambdaSchedule'>): number {
  const t = epochs > 1 ? Math.min(1, Math.max(0, epoch / (epochs - 1))) : 1;
  const r = o.lambdaSchedule === 'cosine' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
  return o.lambda0 + (o.lambda1 - o.lambda0) * r;
}

/**
 * Class prototypes seeded by the text features `seeds` [K, E] and guided by `base` [Nt, K]
 * (initial assignment argmax, weights max; see the module comment). Returns normalised
 * prototypes [K, E].
 */
export function textSeededPrototypes(x: tf.Tensor2D, seeds: tf.Tensor2D, base: tf.Tensor2D, iters: number): tf.Tensor2D {
  return tf.tidy(() => {
    const K = seeds.shape[0];
    const weight = tf.max(base, 1); // (Nt)
    let assign = tf.argMax(base, 1) as tf.Tensor1D; // (Nt)
    let protos = seeds;
    for (let it = 0; it < iters; it++) {
      const a = tf.mul(tf.oneHot(assign, K).toFloat(), tf.expandDims(weight, 1)) as tf.Tensor2D; // (Nt, K)
      const sums = tf.matMul(a, x, true, false); // (K, E)
      const assigned = tf.expandDims(tf.greater(tf.sum(a, 0), 0), 1); // (K, 1)
      protos = tf.where(assigned, l2Normalize(tf.add(sums, tf.logicalNot(assigned).toFloat())), protos) as tf.Tensor2D;
      assign = tf.argMax(tf.matMul(x, protos, false, true), 1) as tf.Tensor1D;
    }
    return protos;
  });
}

/**
 * Computes corrected pseudo-labels for the target training set. Holds the zero-shot (and
 * prototype) distributions, computed once; the caller owns `x` (normalised target features) and
 * `zeroShotText`, which must outlive this object, and disposes it.
 */
export class PseudoLabeler {
  private readonly pZs: tf.Tensor2D; // (Nt, K)
  private pProto?: tf.Tensor2D; // (Nt, K)
  private cached?: PseudoLabels;

  constructor(
    private readonly x: tf.Tensor2D,
    private readonly zeroShotText: tf.Tensor2D,
    private readonly scale: number,
    readonly opts: PseudoLabelOptions,
  ) {
    this.pZs = tf.tidy(() => this.probs(zeroShotText));
  }

  /** softmax(s * cos(x, text) / T) over all target features: [Nt, K]. */
  probs(text: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => softmaxT(cosineLogits(this.x, text, this.scale), this.opts.temperature));
  }

  /** Whether `compute` needs the current target prompt features. */
  get needsTargetText(): boolean {
    return this.opts.correction === 'curriculum' || this.opts.correction === 'curriculum+prototype';
  }

  /** Whether the anchor is the prototype distribution. */
  get usesPrototypes(): boolean {
    return this.opts.correction === 'prototype' || this.opts.correction === 'curriculum+prototype';
  }

  /** The anchor distribution: p_zs, or p_proto with prototypes (computed once). */
  private anchor(): tf.Tensor2D {
    if (!this.usesPrototypes) return this.pZs;
    this.pProto ??= tf.tidy(() => this.probs(textSeededPrototypes(this.x, this.zeroShotText, this.pZs, this.opts.protoIters)));
    return this.pProto;
  }

  /**
   * Pseudo-labels for 0-based epoch `epoch` of `epochs`. `targetText` [K, E]: the current
   * target-domain prompt features, required by the curriculum corrections.
   */
  async compute(epoch: number, epochs: number, targetText?: tf.Tensor2D): Promise<PseudoLabels> {
    if (!this.needsTargetText) {
      this.cached ??= await this.fromDistribution(this.anchor());
      return this.cached;
    }
    if (!targetText) throw new Error(`correction '${this.opts.correction}' needs the target prompt features`);
    const lambda = curriculumLambda(epoch, epochs, this.opts);
    const anchor = this.anchor();
    const q = tf.tidy(() => tf.add(tf.mul(this.probs(targetText), lambda), tf.mul(anchor, 1 - lambda)) as tf.Tensor2D);
    try {
      return { ...(await this.fromDistribution(q)), lambda };
    } finally {
      q.dispose();
    }
  }

  /** Labels and confidences of q [Nt, K], read from the device together. */
  private async fromDistribution(q: tf.Tensor2D): Promise<PseudoLabels> {
    const both = tf.tidy(() => tf.stack([tf.cast(tf.argMax(q, 1), 'float32'), tf.max(q, 1)])); // [2, Nt]
    const values = await takeFloat32(both);
    const n = q.shape[0];
    const labels = Int32Array.from(values.subarray(0, n));
    const confidence = values.slice(n);
    const keep = new Uint8Array(labels.length);
    let kept = 0;
    for (let i = 0; i < keep.length; i++) if (confidence[i]! >= this.opts.tau) { keep[i] = 1; kept++; }
    return { labels, confidence, keep, coverage: keep.length ? kept / keep.length : 0 };
  }

  dispose(): void {
    this.pZs.dispose();
    this.pProto?.dispose();
  }
}
