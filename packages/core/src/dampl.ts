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
 * DAPL itself is this method with correction 'none' and beta 0 (the 'dapl-equivalent' config).
 *
 * Hyper-parameters: `damplSchema` (dampl-config.ts), each with its default's source, and the
 * per-dataset presets there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DamplError, Rng, readFloat32, type SafeTensor } from '@dampl/runtime';
import { hashConfig, validateConfig } from '@dampl/runtime';
import { damplPresets, damplSchema, type DamplConfig } from './dampl-config.js';
import { cosineLogits, crossEntropy, imLoss, l2Normalize, maskedCrossEntropy } from './losses.js';
import {
  argmaxRows, checkFeatures, type EpochRecord, type FeatureMatrix, type Method, type MethodInput, type MethodResult,
  type MethodState, type Prediction, type RestoreInput,
} from './methods.js';
import { PromptLearner, zeroShotTextFeatures } from './prompt.js';
import { PseudoLabeler, type PseudoLabels } from './pseudo.js';
import { epochFeaturesFor, type EpochFeatures } from './views.js';
import { train, type Batch, type TrainModel } from './trainer.js';
import type { TextTower } from './types.js';

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
      try {
        probs.set((await p.data()) as Float32Array, r0 * K);
      } finally {
        p.dispose();
      }
    }
    return { probs, labels: argmaxRows(probs, K) };
  }

  dispose(): void {
    this.text.dispose();
  }
}

/** The DAMPL training state bound to one run's data. */
class DamplModel implements TrainModel {
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly learner: PromptLearner;
  private xs: tf.Tensor2D;
  private readonly ys: Int32Array;
  private xt: tf.Tensor2D;
  private readonly zeroShot: tf.Tensor2D;
  private labeler: PseudoLabeler;
  private readonly views?: EpochFeatures;
  private pseudo?: PseudoLabels;

  constructor(private readonly input: MethodInput<DamplConfig>, private readonly cfg: DamplConfig, private readonly tower: TextTower) {
    const E = tower.config.embedDim;
    checkFeatures(input.source, 'source features', E);
    checkFeatures(input.target, 'target features', E);
    if (input.sourceLabels.length !== input.source.rows) {
      throw new DamplError(`${input.sourceLabels.length} source labels for ${input.source.rows} source feature rows`);
    }
    this.views = epochFeaturesFor(input, cfg.views, 'dampl');
    const K = input.classNames.length;
    for (const y of input.sourceLabels) {
      if (!(y >= 0 && y < K)) throw new DamplError(`source label ${y} is outside the ${K} classes`);
    }
    this.learner = new PromptLearner(tower, input.classNames, input.domainNames, cfg, new Rng(input.seed).fork('init'));
    this.params = this.learner.params();
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

  state(history: EpochRecord[]): Promise<MethodState> {
    return damplState(this.learner, this.cfg, this.input, this.tower, history);
  }

  dispose(): void {
    this.labeler.dispose();
    this.zeroShot.dispose();
    this.xs.dispose();
    this.xt.dispose();
    this.learner.dispose();
  }
}

async function damplState(learner: PromptLearner, config: DamplConfig, input: Pick<MethodInput<DamplConfig>, 'classNames' | 'domainNames' | 'seed'>, tower: TextTower, history: EpochRecord[]): Promise<MethodState> {
  const params = [...learner.params()];
  const values = await readFloat32(params.map(([, v]) => v));
  const tensors: Record<string, SafeTensor> = {};
  params.forEach(([name, v], i) => { tensors[name] = { dtype: 'F32', shape: [...v.shape], data: values[i]! }; });
  return {
    method: 'dampl',
    config,
    tensors,
    meta: {
      classNames: [...input.classNames],
      domainNames: [...input.domainNames],
      seed: input.seed,
      weightsHash: tower.weightsHash,
      configHash: hashConfig(config),
      history,
    },
  };
}

/** The predictor and state of a learner, read before the caller disposes it. */
async function resultFrom(learner: PromptLearner, cfg: DamplConfig, tower: TextTower, history: EpochRecord[],
  input: Pick<MethodInput<DamplConfig>, 'classNames' | 'domainNames' | 'seed'>): Promise<MethodResult> {
  const predictor = new TextPredictor(learner.textFeatures([1]), tower.logitScale, cfg.evalBatch);
  const state = await damplState(learner, cfg, input, tower, history);
  return {
    predict: (features) => predictor.predict(features),
    history,
    state: async () => state,
    dispose: () => predictor.dispose(),
  };
}

function requireTower(clip: TextTower | undefined): TextTower {
  if (!clip) throw new DamplError('DAMPL needs the CLIP text tower (input.clip)', 'load the CLIP model whose image encoder produced the features and pass it as clip');
  return clip;
}

export const dampl: Method<DamplConfig> = {
  name: 'dampl',
  describe: 'DAMPL: domain-aware prompts, semantic-guided pseudo-label correction, IM loss (CLIP)',
  configSchema: damplSchema,
  presets: damplPresets,

  async fit(input: MethodInput<DamplConfig>): Promise<MethodResult> {
    const tower = requireTower(input.clip);
    const cfg = validateConfig(damplSchema, input.config as Record<string, unknown>, 'dampl config');
    if (input.domainNames.length !== 2) throw new ConfigError(`DAMPL takes [source, target] domain names, got ${input.domainNames.length}`);
    const model = new DamplModel(input, cfg, tower);
    try {
      const history = await train(model, {
        config: cfg,
        methodConfig: cfg,
        nSource: input.source.rows,
        nTarget: input.target.rows,
        seed: input.seed,
        logger: input.logger?.child('dampl'),
        onEpoch: input.onEpoch,
        onStep: input.onStep,
        signal: input.signal,
        checkpoint: input.checkpoint,
        resumeFrom: input.resumeFrom,
      });
      return await resultFrom(model.learner, cfg, tower, history, input);
    } finally {
      model.dispose();
    }
  },

  async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
    if (state.method !== 'dampl') throw new ConfigError(`a '${state.method}' state cannot be restored by dampl`);
    const tower = requireTower(input.clip);
    const cfg = validateConfig(damplSchema, state.config as Record<string, unknown>, 'saved dampl config');
    const meta = state.meta as { seed?: number; history?: EpochRecord[]; classNames?: string[]; domainNames?: string[] };
    for (const [what, saved, given] of [['classes', meta.classNames, input.classNames], ['domains', meta.domainNames, input.domainNames]] as const) {
      if (saved && JSON.stringify(saved) !== JSON.stringify(given)) {
        throw new ConfigError(`the saved DAMPL state was trained for ${what} ${JSON.stringify(saved)}, not ${JSON.stringify(given)}`);
      }
    }
    const learner = new PromptLearner(tower, input.classNames, input.domainNames, cfg, new Rng(meta.seed ?? 0).fork('init'));
    try {
      learner.load(new Map(Object.entries(state.tensors).map(([k, t]) => [k, t.data as Float32Array])));
      return await resultFrom(learner, cfg, tower, meta.history ?? [], { classNames: input.classNames, domainNames: input.domainNames, seed: meta.seed ?? 0 });
    } finally {
      learner.dispose();
    }
  },
};
