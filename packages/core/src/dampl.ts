/**
 * DAMPL: domain-aware multi-prompt learning on CLIP with semantic-guided pseudo-label
 * correction and mutual-information maximisation (Ding and Yang, "Unsupervised Domain
 * Adaptation Image Classification Based on CLIP", Computer Systems & Applications 35(1), 2026).
 *
 * Model: DAPL's prompts (prompt.ts), one per (domain, class), through CLIP's frozen text tower:
 *   w_{d,k} = normalise(g(prompt_{d,k})),  p_d(k|x) = softmax_k(s * cos(f(x), w_{d,k})).
 * Loss per step, with a source batch (x^s, y) and a target batch x^t:
 *
 *   L = L_src + mu * L_tgt + beta * L_IM
 *   L_src = CE(p_source(. | x^s), y)                                  (losses.crossEntropy)
 *   L_tgt = masked CE(p_target(. | x^t), yhat) over max_k q >= tau    (losses.maskedCrossEntropy)
 *   L_IM  = mean_i H(p_target(. | x^t_i)) - H(mean_i p_target(. | x^t_i))   (losses.imLoss, SHOT)
 *
 * with pseudo-labels yhat and confidences from the corrected distribution q (pseudo.ts),
 * recomputed at the start of each epoch. Prediction on the target domain: argmax_k p_target.
 * DAPL's objective is this one with correction 'none' and beta 0 (the ablation 'base'; the method
 * 'dapl' adds DAPL's own prompt template).
 *
 * Hyper-parameters: `damplSchema` (dampl-config.ts), each with its default's source, and the
 * per-dataset presets there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DamplError } from '@dampl/runtime';
import { damplPresets, damplSchema, type DamplConfig } from './dampl-config.js';
import { cosineLogits, crossEntropy, imLoss, maskedCrossEntropy, l2Normalize } from './losses.js';
import { checkFeatures, type EpochRecord, type Method, type MethodInput } from './methods.js';
import { PromptLearner, zeroShotTextFeatures } from './prompt.js';
import { promptMethod, type PromptModel } from './prompt-method.js';
import { PseudoLabeler, type PseudoLabels } from './pseudo.js';
import { TextPredictor } from './text-predictor.js';
import { epochFeaturesFor, type EpochFeatures } from './views.js';
import type { Batch } from './trainer.js';
import type { TextTower } from './types.js';

/** The DAMPL training state bound to one run's data. */
class DamplModel implements PromptModel {
  private xs: tf.Tensor2D;
  private readonly ys: Int32Array;
  private xt: tf.Tensor2D;
  private readonly zeroShot: tf.Tensor2D;
  private labeler: PseudoLabeler;
  private readonly views?: EpochFeatures;
  private pseudo?: PseudoLabels;

  constructor(private readonly learner: PromptLearner, private readonly input: MethodInput<DamplConfig>, private readonly cfg: DamplConfig, private readonly tower: TextTower) {
    const E = tower.config.embedDim;
    this.views = epochFeaturesFor(input, cfg.views, 'dampl');
    this.xs = tf.tidy(() => l2Normalize(tf.tensor2d(input.source.data, [input.source.rows, E])));
    this.ys = input.sourceLabels;
    this.xt = tf.tidy(() => l2Normalize(tf.tensor2d(input.target.data, [input.target.rows, E])));
    this.zeroShot = zeroShotTextFeatures(tower, input.classNames, cfg.zeroShotTemplates);
    this.labeler = new PseudoLabeler(this.xt, this.zeroShot, tower.logitScale, cfg);
  }

  /** With views (cached or online), the epoch's view of both sets replaces the last, and the pseudo-labels are computed on it. */
  private async takeEpochView(epoch: number): Promise<void> {
    if (!this.views) return;
    const E = this.tower.config.embedDim;
    const s = await this.views('source', epoch + 1);
    const t = await this.views('target', epoch + 1);
    this.xs.dispose();
    this.xt.dispose();
    this.labeler.dispose();
    this.xs = tf.tidy(() => l2Normalize(tf.tensor2d(s.data, [s.rows, E])));
    this.xt = tf.tidy(() => l2Normalize(tf.tensor2d(t.data, [t.rows, E])));
    this.labeler = new PseudoLabeler(this.xt, this.zeroShot, this.tower.logitScale, this.cfg);
  }

  /** Target-domain text features [K, E], outside any tape. */
  targetText(): tf.Tensor2D {
    return this.learner.textFeatures([1]);
  }

  async beforeEpoch(epoch: number): Promise<Partial<EpochRecord>> {
    await this.takeEpochView(epoch);
    const text = this.labeler.needsTargetText ? this.targetText() : undefined;
    try {
      this.pseudo = await this.labeler.compute(epoch, this.cfg.epochs, text);
    } finally {
      text?.dispose();
    }
    const out: Partial<EpochRecord> = { pseudoCoverage: this.pseudo.coverage };
    const a = this.input.targetAnalysis?.accuracy(this.pseudo.labels, this.pseudo.keep);
    if (a !== undefined && Number.isFinite(a)) out.pseudoAccuracy = a;
    if (this.pseudo.lambda !== undefined) out.extra = { lambda: this.pseudo.lambda };
    return out;
  }

  loss(batch: Batch): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const { cfg } = this;
    const K = this.input.classNames.length;
    const s = this.tower.logitScale;
    const w = this.learner.textFeatures(); // (2K, E): source prompts, then target prompts
    const wSource = tf.slice(w, [0, 0], [K, -1]);
    const wTarget = tf.slice(w, [K, 0], [K, -1]);
    const xs = tf.gather(this.xs, tf.tensor1d(batch.source, 'int32'));
    const ys = Int32Array.from(batch.source, (i) => this.ys[i]!);
    const src = crossEntropy(cosineLogits(xs, wSource, s), ys);
    const xt = tf.gather(this.xt, tf.tensor1d(batch.target, 'int32'));
    const logitsT = cosineLogits(xt, wTarget, s);
    const pseudo = this.pseudo!;
    const yhat = Int32Array.from(batch.target, (i) => pseudo.labels[i]!);
    const conf = Float32Array.from(batch.target, (i) => pseudo.confidence[i]!);
    const tgt = maskedCrossEntropy(logitsT, yhat, conf, cfg.tau);
    const im = imLoss(tf.softmax(logitsT), cfg.imEps);
    let total: tf.Scalar = src;
    if (cfg.mu) total = tf.add(total, tf.mul(tgt, cfg.mu));
    if (cfg.beta) total = tf.add(total, tf.mul(im, cfg.beta));
    return { total, terms: { src, tgt, im } };
  }

  async afterEpoch(): Promise<Partial<EpochRecord>> {
    const out: Partial<EpochRecord> = {};
    if (!this.input.targetAnalysis && !this.input.evalTarget) return out;
    const predictor = new TextPredictor(this.targetText(), this.tower.logitScale, this.cfg.evalBatch);
    try {
      if (this.input.targetAnalysis) out.targetAccuracy = this.input.targetAnalysis.accuracy((await predictor.predict(this.input.target)).labels);
      if (this.input.evalTarget) out.evalAccuracy = this.input.evalTarget.analysis.accuracy((await predictor.predict(this.input.evalTarget.features)).labels);
    } finally {
      predictor.dispose();
    }
    return out;
  }

  dispose(): void {
    this.labeler.dispose();
    this.zeroShot.dispose();
    this.xs.dispose();
    this.xt.dispose();
  }
}

/** Checks of the run's input before the learner is made. */
function checkDamplInput(input: MethodInput<DamplConfig>, tower: TextTower): void {
  if (input.domainNames.length !== 2) throw new ConfigError(`DAMPL takes [source, target] domain names, got ${input.domainNames.length}`);
  const E = tower.config.embedDim;
  checkFeatures(input.source, 'source features', E);
  checkFeatures(input.target, 'target features', E);
  if (input.sourceLabels.length !== input.source.rows) {
    throw new DamplError(`${input.sourceLabels.length} source labels for ${input.source.rows} source feature rows`);
  }
  const K = input.classNames.length;
  for (const y of input.sourceLabels) {
    if (!(y >= 0 && y < K)) throw new DamplError(`source label ${y} is outside the ${K} classes`);
  }
}

export const dampl: Method<DamplConfig> = promptMethod<DamplConfig>({
  name: 'dampl',
  title: 'DAMPL',
  describe: 'DAMPL: domain-aware prompts, semantic-guided pseudo-label correction, IM loss (CLIP)',
  configSchema: damplSchema,
  presets: damplPresets,
  learner: (tower, classNames, domainNames, cfg, rng) => new PromptLearner(tower, classNames, domainNames, cfg, rng),
  params: (learner) => learner.params(),
  checkInput: checkDamplInput,
  model: (learner, input, cfg, tower) => new DamplModel(learner, input, cfg, tower),
  trainerConfig: (cfg) => cfg,
  predictText: (learner) => learner.textFeatures([1]),
  load: (learner, tensors) => learner.load(tensors),
  sameAs: ['classes', 'domains'],
});
