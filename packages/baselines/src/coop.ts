/**
 * CoOp, source-only (Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022):
 * learned context vectors in place of the prompt's words, trained on the labelled source domain
 * alone and applied unchanged to the target. The UDA papers' "CoOp" row (e.g. PDA, AAAI 2024).
 *
 *   prompt_k = [SOS] v_1 .. v_M <class k>. [EOT]           v: [M, W], or [K, M, W] with CSC
 *   w_k = normalise(g(prompt_k))                            [K, E]
 *   p(k | x) = softmax_k(s * cos(f(x), w_k))                x [B, E] -> [B, K]
 *   L = CE(p(. | x^s), y)                                   on source batches only
 *
 * It is core's `PromptLearner` with one domain and no domain context (N = 0), built by core's
 * `promptMethod` as DAMPL is (target batches are drawn by the loop and ignored).
 * Hyper-parameters: CoOp train.py extend_cfg (N_CTX 16, CSC False, CTX_INIT "" so N(0, 0.02^2)
 * vectors, CLASS_TOKEN_POSITION "end") and configs/trainers/CoOp/vit_b16_ep50.yaml (SGD lr 0.002,
 * 50 epochs, cosine, 1 warm-up epoch at the constant lr 1e-5, batch 32); Dassl's defaults for
 * momentum 0.9 and weight decay 5e-4; the scheduler advances once per epoch (Dassl TrainerX).
 * The synthetic world has its own preset (`coopPresets`).
 *
 * @example
 *   const result = await fitMethod(coop, { ...input, clip, config: methodDefaults(coop, 'office-home') });
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  PromptLearner, TextPredictor, analyse, checkFeatures, cosineLogits, crossEntropy, damplSchema, defineSchema, epochFeaturesFor,
  featureData, l2Normalize, promptMethod, VIEWS_FIELD,
  type Batch, type ConfigOf, type EpochFeatures, type EpochRecord, type MethodInput, type Method, type Preset, type PromptModel,
} from '@dampl/core';

const d = damplSchema;
const COOP_TRAIN = 'CoOp train.py extend_cfg';
const COOP_EP50 = 'CoOp configs/trainers/CoOp/vit_b16_ep50.yaml';
export const coopSchema = defineSchema({
  views: VIEWS_FIELD,
  nCtx: { ...d.nCtx, default: 16, doc: 'M context vectors', source: `${COOP_TRAIN} TRAINER.COOP.N_CTX = 16` },
  csc: { ...d.csc, default: false, doc: 'class-specific context', source: `${COOP_TRAIN} TRAINER.COOP.CSC = False` },
  ctxInit: { ...d.ctxInit, doc: "words to initialise the context, e.g. 'a photo of a'; '' for N(0, initStd^2)", source: `${COOP_TRAIN} TRAINER.COOP.CTX_INIT = ''` },
  initStd: { ...d.initStd, doc: 'std of random context initialisation', source: 'CoOp trainers/coop.py nn.init.normal_(std=0.02)' },
  classTemplate: { ...d.classTemplate, default: '{class}.', doc: 'text after the context vectors, with {class}', source: `${COOP_TRAIN} TRAINER.COOP.CLASS_TOKEN_POSITION = end: '[v] [CLASS].'` },
  optimizer: { ...d.optimizer, source: `${COOP_EP50} OPTIM.NAME = sgd` },
  lr: { ...d.lr, default: 0.002, source: `${COOP_EP50} OPTIM.LR = 0.002` },
  momentum: d.momentum,
  weightDecay: d.weightDecay,
  adamBeta1: d.adamBeta1,
  adamBeta2: d.adamBeta2,
  adamEps: d.adamEps,
  lrSchedule: { ...d.lrSchedule, source: `${COOP_EP50} OPTIM.LR_SCHEDULER = cosine` },
  warmupEpochs: { ...d.warmupEpochs, source: `${COOP_EP50} OPTIM.WARMUP_EPOCH = 1` },
  warmupType: { ...d.warmupType, default: 'constant', source: `${COOP_EP50} OPTIM.WARMUP_TYPE = constant` },
  warmupLr: { ...d.warmupLr, source: `${COOP_EP50} OPTIM.WARMUP_CONS_LR = 1e-5` },
  lrStepPer: { ...d.lrStepPer, doc: 'the scheduler advances per epoch or per batch', source: 'Dassl TrainerX: the scheduler steps once per epoch' },
  epochs: { ...d.epochs, default: 50, source: `${COOP_EP50} OPTIM.MAX_EPOCH = 50` },
  maxSteps: d.maxSteps,
  batchSize: { ...d.batchSource, doc: 'source images per step', source: `${COOP_EP50} DATALOADER.TRAIN_X.BATCH_SIZE = 32` },
  evalBatch: d.evalBatch,
});

export type CoopConfig = ConfigOf<typeof coopSchema>;

/** Per dataset, over the schema defaults; the real benchmarks take CoOp's own configuration. */
const coopPresets: Readonly<Record<string, Preset<CoopConfig>>> = {
  synth: {
    values: { nCtx: 8, optimizer: 'adam', lr: 1e-2, weightDecay: 0, epochs: 10, warmupEpochs: 0 },
    source: "this project: DAMPL's synthetic-world preset (short prompts, Adam at 1e-2, no warm-up) with half its epochs, as source-only training converges sooner",
  },
};

class CoopModel implements PromptModel {
  private xs: tf.Tensor2D;
  private readonly views?: EpochFeatures;

  constructor(private readonly learner: PromptLearner, private readonly input: MethodInput<CoopConfig>, private readonly cfg: CoopConfig, private readonly logitScale: number) {
    this.xs = tf.tidy(() => l2Normalize(tf.tensor2d(input.source.data, [input.source.rows, input.source.dim])));
    this.views = epochFeaturesFor(input, cfg.views, 'coop');
  }

  /** With views (cached or online), the epoch's view of the source images replaces the last. */
  async beforeEpoch(epoch: number): Promise<Partial<EpochRecord>> {
    if (!this.views) return {};
    const v = await this.views('source', epoch + 1);
    this.xs.dispose();
    this.xs = tf.tidy(() => l2Normalize(tf.tensor2d(v.data, [v.rows, v.dim])));
    return {};
  }

  loss(batch: Batch): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const w = this.learner.textFeatures(); // [K, E]
    const xs = tf.gather(this.xs, tf.tensor1d(batch.source, 'int32'));
    const src = crossEntropy(cosineLogits(xs, w, this.logitScale), Int32Array.from(batch.source, (i) => this.input.sourceLabels[i]!));
    return { total: src, terms: { src } };
  }

  async afterEpoch(): Promise<Partial<EpochRecord>> {
    if (!this.input.targetAnalysis && !this.input.evalTarget) return {};
    const p = new TextPredictor(this.learner.textFeatures(), this.logitScale, this.cfg.evalBatch);
    try {
      return await analyse(this.input, (f) => p.predict(f));
    } finally {
      p.dispose();
    }
  }

  dispose(): void {
    this.xs.dispose();
  }
}

export const coop: Method<CoopConfig> = promptMethod<CoopConfig>({
  name: 'coop',
  title: 'CoOp',
  describe: 'CoOp: learned prompt context trained on the source domain only, tested on the target',
  configSchema: coopSchema,
  presets: coopPresets,
  // one domain (the source's) and no domain context
  learner: (tower, classNames, domainNames, cfg, rng) => new PromptLearner(tower, classNames, [domainNames[0]!], { ...cfg, nDomainCtx: 0, domainCsc: false }, rng),
  params: (learner) => new Map([['ctx', learner.ctx]]),
  checkInput: (input, tower) => {
    featureData(input);
    checkFeatures(input.source, 'source features', tower.config.embedDim);
  },
  model: (learner, input, cfg, tower) => new CoopModel(learner, input, cfg, tower.logitScale),
  trainerConfig: (cfg) => ({ ...cfg, batchSource: cfg.batchSize, batchTarget: cfg.batchSize, countIter: 'source' }),
  predictText: (learner) => learner.textFeatures(),
  load: (learner, tensors) => learner.load(new Map([...tensors, ['domain_ctx', new Float32Array(0)]])),
  sameAs: ['classes'],
});
