/**
 * DAMPL's configuration: every hyper-parameter with its default and where the default comes from,
 * and the per-dataset presets. The defaults are DAPL's released configuration for the real
 * benchmarks (LeapLabTHU/DAPrompt):
 *
 *   configs/trainers/DAPL/ep25-32-csc.yaml  OPTIM: sgd, LR 3e-3, MAX_EPOCH 25, cosine,
 *     WARMUP_EPOCH 1, WARMUP_TYPE linear, WARMUP_MIN_LR 1e-5; TRAIN_X/TRAIN_U BATCH_SIZE 32;
 *     TRAINER.DAPL: N_CTX 16, N_DMX 16, CSC True, T 1.0, TAU 0.5, U 1.0 (backbone RN101).
 *     The README's training command uses it: `bash main.sh visda17 ep25-32-csc 1.0 0.5 1.0 t0`.
 *   Dassl dassl/config/defaults.py (used by DAPL for what its yaml leaves out): MOMENTUM 0.9,
 *     WEIGHT_DECAY 5e-4, SGD_DAMPNING 0, SGD_NESTEROV False, WARMUP_RECOUNT True,
 *     COUNT_ITER train_x; ADAM_BETA1 0.9, ADAM_BETA2 0.999 as printed in DAPL's VisDA log.
 *
 * DAPL's released VisDA run (output/visda17/DAPL/ep25-32-csc/1.0_0.6_1.0_t0/seed_2/log.txt) was
 * launched with TAU 0.6 on the command line; its pretrained model directory is 1.0_0.5_1.0_t0.
 * The three real benchmarks take these defaults; the synthetic world has its own preset.
 */
import { CLIP_IMAGENET_TEMPLATES } from '@dampl/clip';
import { defineSchema, type ConfigOf } from '@dampl/runtime';
import type { NamedConfig } from './config.js';
import type { Preset } from './methods.js';
import { CORRECTIONS } from './pseudo.js';
import { VIEWS_FIELD } from './views.js';

const EP25 = 'DAPL configs/trainers/DAPL/ep25-32-csc.yaml';
const DASSL = 'Dassl dassl/config/defaults.py';

export const damplSchema = defineSchema({
  // prompts (prompt.ts)
  nCtx: { type: 'integer', default: 16, min: 0, max: 64, doc: 'M, domain-agnostic context vectors', source: `${EP25} TRAINER.DAPL.N_CTX` },
  nDomainCtx: { type: 'integer', default: 16, min: 0, max: 64, doc: 'N, domain-specific context vectors per domain', source: `${EP25} TRAINER.DAPL.N_DMX` },
  csc: { type: 'boolean', default: true, doc: 'class-specific domain-agnostic context', source: `${EP25} TRAINER.DAPL.CSC` },
  domainCsc: { type: 'boolean', default: false, doc: 'class-specific domain context', source: 'DAPL trainers/dapl.py PromptLearner: one domain context per domain, shared by its classes' },
  ctxInit: { type: 'string', default: '', doc: "words to initialise the domain-agnostic context, e.g. 'a photo of a'; '' for N(0, initStd^2)", source: 'DAPL trainers/dapl.py: random initialisation, no initial words' },
  initStd: { type: 'number', default: 0.02, min: 0, doc: 'std of the random context initialisation', source: 'DAPL trainers/dapl.py nn.init.normal_(std=0.02)' },
  classTemplate: { type: 'string', default: '{class}.', doc: 'text after the learned vectors, with {class} and {domain}', source: "DAPL paper (Ge et al., arXiv 2202.06687) section 3.2, prompt '[v][d] [CLASS].'" },
  // pseudo-labels (pseudo.ts)
  correction: { type: 'enum', choices: CORRECTIONS, default: 'curriculum+prototype', doc: 'pseudo-label correction: none (DAPL), prototype, curriculum, curriculum+prototype', source: "this project's semantic-guided correction (pseudo.ts); the DAMPL paper's abstract gives no formula" },
  tau: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'keep a pseudo-label when max_k q >= tau', source: `${EP25} TRAINER.DAPL.TAU` },
  temperature: { type: 'number', default: 1.0, min: 1e-6, doc: 'T in softmax(s cos / T) of the pseudo-label distributions', source: `${EP25} TRAINER.DAPL.T` },
  lambda0: { type: 'number', default: 0, min: 0, max: 1, doc: 'curriculum weight of the learned target prompts in the first epoch', source: 'this project (pseudo.ts): the learned prompts know nothing of the target at the start' },
  lambda1: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'curriculum weight of the learned target prompts in the last epoch', source: 'this project (pseudo.ts): never more than the semantic anchor, against confirmation bias' },
  lambdaSchedule: { type: 'enum', choices: ['linear', 'cosine'], default: 'linear', doc: 'how lambda rises from lambda0 to lambda1 over the epochs', source: 'this project (pseudo.ts)' },
  protoIters: { type: 'integer', default: 2, min: 0, max: 50, doc: 'prototype refinement rounds', source: 'SHOT object/image_target.py obtain_label: two rounds' },
  zeroShotTemplates: { type: 'string[]', default: ['a photo of a {class}.'], minItems: 1, doc: 'templates of the zero-shot classifier that seeds the pseudo-labels (averaged when several)', source: "DAPL trainers/dapl.py: zero-shot prompts 'a photo of a {}.'" },
  // loss weights
  mu: { type: 'number', default: 1.0, min: 0, doc: 'weight of the pseudo-label loss', source: `${EP25} TRAINER.DAPL.U` },
  beta: { type: 'number', default: 1.0, min: 0, doc: 'weight of the IM loss', source: 'SHOT object/image_target.py ent_par = 1.0' },
  imEps: { type: 'number', default: 1e-5, min: 0, doc: 'eps inside the logs of the IM loss', source: 'SHOT object/image_target.py epsilon = 1e-5' },
  // optimisation (optim.ts, trainer.ts)
  optimizer: { type: 'enum', choices: ['sgd', 'adam'], default: 'sgd', doc: 'optimizer', source: `${EP25} OPTIM.NAME` },
  lr: { type: 'number', default: 3e-3, min: 0, doc: 'base learning rate', source: `${EP25} OPTIM.LR` },
  momentum: { type: 'number', default: 0.9, min: 0, max: 1, doc: 'SGD momentum', source: `${DASSL} OPTIM.MOMENTUM` },
  weightDecay: { type: 'number', default: 5e-4, min: 0, doc: 'L2 weight decay', source: `${DASSL} OPTIM.WEIGHT_DECAY` },
  adamBeta1: { type: 'number', default: 0.9, min: 0, max: 1, doc: 'Adam beta1', source: `${DASSL} OPTIM.ADAM_BETA1` },
  adamBeta2: { type: 'number', default: 0.999, min: 0, max: 1, doc: 'Adam beta2', source: `${DASSL} OPTIM.ADAM_BETA2` },
  adamEps: { type: 'number', default: 1e-8, min: 0, doc: 'Adam eps', source: 'torch.optim.Adam default' },
  lrSchedule: { type: 'enum', choices: ['cosine', 'constant'], default: 'cosine', doc: 'learning-rate schedule after the warm-up', source: `${EP25} OPTIM.LR_SCHEDULER` },
  warmupEpochs: { type: 'integer', default: 1, min: 0, doc: 'warm-up epochs (or steps, with lrStepPer batch)', source: `${EP25} OPTIM.WARMUP_EPOCH` },
  warmupType: { type: 'enum', choices: ['linear', 'constant'], default: 'linear', doc: 'warm-up shape', source: `${EP25} OPTIM.WARMUP_TYPE` },
  warmupLr: { type: 'number', default: 1e-5, min: 0, doc: 'the warm-up learning rate', source: `${EP25} OPTIM.WARMUP_MIN_LR` },
  lrStepPer: { type: 'enum', choices: ['epoch', 'batch'], default: 'epoch', doc: "the scheduler advances per epoch, or per batch as DAPL's released trainer does", source: "the schedule ep25-32-csc.yaml describes; DAPL trainers/dapl.py calls update_lr() every batch ('batch')" },
  epochs: { type: 'integer', default: 25, min: 1, doc: 'epochs', source: `${EP25} OPTIM.MAX_EPOCH` },
  maxSteps: { type: 'integer', default: 0, min: 0, doc: 'stop after this many steps in all (0: no limit)', source: 'this project: no limit' },
  batchSource: { type: 'integer', default: 32, min: 1, doc: 'source images per step', source: `${EP25} DATALOADER.TRAIN_X.BATCH_SIZE` },
  batchTarget: { type: 'integer', default: 32, min: 1, doc: 'target images per step', source: `${EP25} DATALOADER.TRAIN_U.BATCH_SIZE` },
  countIter: { type: 'enum', choices: ['source', 'target', 'smaller', 'larger'], default: 'source', doc: 'which set counts the steps of an epoch', source: `${DASSL} TRAIN.COUNT_ITER = train_x` },
  evalBatch: { type: 'integer', default: 4096, min: 1, doc: 'rows per chunk when predicting (does not change results)', source: 'this project' },
  views: VIEWS_FIELD,
});

export type DamplConfig = ConfigOf<typeof damplSchema>;

/**
 * Per dataset, over the schema defaults. The real benchmarks take the schema defaults (DAPL's
 * ep25-32-csc.yaml) and have no preset.
 */
export const damplPresets: Readonly<Record<string, Preset<DamplConfig>>> = {
  synth: {
    source: "this project: the synthetic world's tiny CLIP takes short prompts and Adam at a larger rate without warm-up (a task in about a minute on two CPU cores); "
      + "its pseudo-labels are seeded by CLIP's 80-template ensemble, the better zero-shot classifier there (results/reference/synth: zero-shot-ensemble beside zero-shot)",
    values: {
      zeroShotTemplates: [...CLIP_IMAGENET_TEMPLATES],
      nCtx: 8,
      nDomainCtx: 8,
      csc: true,
      optimizer: 'adam',
      lr: 1e-2,
      weightDecay: 0,
      epochs: 20,
      warmupEpochs: 0,
      batchSource: 32,
      batchTarget: 32,
    },
  },
};

/** The keys of DAPL's released recipe (ep25-32-csc.yaml and the Dassl defaults it relies on). */
const RELEASED_KEYS = [
  'nCtx', 'nDomainCtx', 'csc', 'tau', 'temperature', 'mu', 'zeroShotTemplates', 'optimizer', 'lr', 'momentum', 'weightDecay',
  'lrSchedule', 'warmupEpochs', 'warmupType', 'warmupLr', 'epochs', 'batchSource', 'batchTarget', 'countIter',
] as const satisfies readonly (keyof DamplConfig)[];

/**
 * `dampl@ep25-32-csc` (and `dapl@ep25-32-csc`): DAPL's released recipe on any dataset, over a
 * dataset's preset; on the real benchmarks it is the default. The scheduler steps per epoch, as
 * the yaml describes it; `dapl@released` (released-configs.ts) steps it per batch, as DAPL's
 * trainer does.
 */
export function releasedRecipe(method: 'dampl' | 'dapl'): NamedConfig {
  return {
    method,
    name: 'ep25-32-csc',
    doc: "DAPL's released training recipe",
    source: `${EP25}, with ${DASSL} for what it leaves out (the schema defaults of these keys)`,
    backbone: 'RN101',
    values: Object.fromEntries(RELEASED_KEYS.map((k) => [k, damplSchema[k].default])),
    sources: Object.fromEntries(RELEASED_KEYS.map((k) => [k, damplSchema[k].source])),
  };
}
