/**
 * The model and training loop shared by the feature-space baselines (source-only head, DANN,
 * DAN, CDAN, MCC, SHOT-IM): on frozen CLIP image features x [N, E],
 *
 *   f = bottleneck(x)      Linear(E, d) - BatchNorm1d(d) - ReLU        [B, d]
 *   g = classifier(f)      Linear(d, K)                                [B, K]
 *
 * as TLlib's ImageClassifier (tllib/modules/classifier.py) with the backbone frozen, trained
 * with TLlib's recipe: SGD with momentum (Nesterov, as every TLlib example), weight decay, the
 * inverse-decay schedule lr_i = lr * (1 + gamma * i)^(-decay) advanced every iteration, and
 * `epochs` x `itersPerEpoch` iterations on mini-batches of B source and B target features.
 * Source and target go through the bottleneck as one batch, so BatchNorm sees both domains (as
 * TLlib's `model(torch.cat((x_s, x_t)))`). Per step:
 *
 *   L = CE(g_s, y_s) + tradeOff * L_transfer(f_s, f_t, g_s, g_t)
 *
 * with L_transfer given by the method (`Alignment`); without one, target batches are not drawn.
 */
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32, DamplError, silentLogger, type Logger, type Rng } from '@dampl/runtime';
import { argmaxRows, checkFeatures, type FeatureMatrix, type Prediction } from '../methods.js';
import { NonFiniteLossError, TrainingAborted } from '../trainer.js';
import type { EpochFeatures } from '../views.js';
import { BatchNorm1d, Dropout, Linear, ReLU, Sequential, loadLayer, type Layer } from './nn.js';

export interface FeatureData {
  /** [Ns, E] row-major. */
  source: Float32Array;
  sourceLabels: Int32Array;
  /** [Nt, E] unlabelled target training features. */
  target: Float32Array;
  dim: number;
  numClasses: number;
  /**
   * Augmented views (core views.ts), cached or online: each epoch trains on the features
   * `views(side, epoch)` gives in place of `source`/`target`.
   */
  views?: EpochFeatures;
}

export interface FeatureTrainConfig {
  /** TLlib --epochs. */
  epochs: number;
  /** TLlib --iters-per-epoch. */
  itersPerEpoch: number;
  /** B, per domain (TLlib -b). */
  batchSize: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  lrGamma: number;
  lrDecay: number;
  /** d, the bottleneck width (TLlib --bottleneck-dim). */
  bottleneckDim: number;
  /** L2-normalise the features first (CLIP features are compared by cosine). */
  normalize: boolean;
  /** Weight of the transfer loss (TLlib --trade-off). */
  tradeOff: number;
  /** Label smoothing eps of the source cross-entropy, targets (1 - eps) y + eps / K (default 0). */
  labelSmoothing?: number;
  /** The bottleneck's layers after the Linear (default 'bn-relu'; see `Bottleneck`). */
  bottleneck?: Bottleneck;
}

/**
 * 'bn-relu': Linear - BatchNorm1d - ReLU (TLlib tllib/modules/classifier.py, as its DANN/CDAN
 * examples build it); 'relu-dropout': Linear - ReLU - Dropout(0.5) (TLlib tllib/alignment/dan.py
 * ImageClassifier, DAN's).
 */
export type Bottleneck = 'bn-relu' | 'relu-dropout';
export const BOTTLENECKS = ['bn-relu', 'relu-dropout'] as const satisfies readonly Bottleneck[];

/** What a transfer loss sees of one step: bottleneck features and logits of both domains. */
export interface AlignmentInput {
  /** [B, d] */
  fs: tf.Tensor2D;
  /** [B, d] */
  ft: tf.Tensor2D;
  /** [B, K] */
  logitsS: tf.Tensor2D;
  /** [B, K] */
  logitsT: tf.Tensor2D;
}

export interface Alignment {
  /** Extra trainable layers (e.g. a domain discriminator), trained with the same optimiser. */
  layers: Layer[];
  /** The transfer loss of step `step` (0-based) of `total`. */
  loss(x: AlignmentInput, step: number, total: number): tf.Scalar;
}

/** One epoch of `itersPerEpoch` iterations: mean losses, the learning rate of its first step. */
export interface FeatureEpoch {
  /** 1-based. */
  epoch: number;
  /** Iterations so far. */
  step: number;
  lr: number;
  losses: Record<string, number>;
}

export interface TrainHooks {
  log?: Logger;
  signal?: AbortSignal;
  onStep?(r: { epoch: number; step: number; lr: number; losses: Record<string, number> }): void;
  /** After each epoch, with the model as it is then (e.g. to score it). */
  onEpoch?(r: FeatureEpoch, model: FeatureClassifier): void | Promise<void>;
}

export function l2normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i + j]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) out[i + j] = x[i + j]! * inv;
  }
  return out;
}

/** Bottleneck and classifier on frozen features; predicts in eval mode (BatchNorm's running statistics). */
export class FeatureClassifier {
  readonly neck: Sequential;
  readonly head: Linear;

  constructor(readonly dim: number, readonly numClasses: number, readonly bottleneckDim: number, readonly normalize: boolean, rng: Rng, bottleneck: Bottleneck = 'bn-relu') {
    this.neck = bottleneck === 'relu-dropout'
      ? new Sequential(new Linear(dim, bottleneckDim, rng), new ReLU(), new Dropout(0.5, rng.fork('dropout')))
      : new Sequential(new Linear(dim, bottleneckDim, rng), new BatchNorm1d(bottleneckDim), new ReLU());
    this.head = new Linear(bottleneckDim, numClasses, rng);
  }

  params(): tf.Variable[] {
    return [...this.neck.params(), ...this.head.params()];
  }

  /** Features [N, E] (already normalised when `normalize`) -> { f [N, d], logits [N, K] }. */
  forward(x: tf.Tensor2D, training: boolean): { f: tf.Tensor2D; logits: tf.Tensor2D } {
    const f = this.neck.apply(x, training);
    return { f, logits: this.head.apply(f) };
  }

  /** Class probabilities in eval mode; features cross to the device and back once per chunk. */
  async predict(features: FeatureMatrix, chunk = 4096): Promise<Prediction> {
    checkFeatures(features, 'features to predict', this.dim);
    const x = this.normalize ? l2normalizeRows(features.data, this.dim) : features.data;
    const K = this.numClasses;
    const probs = new Float32Array(features.rows * K);
    for (let r0 = 0; r0 < features.rows; r0 += chunk) {
      const rows = Math.min(chunk, features.rows - r0);
      const p = tf.tidy(() => tf.softmax(this.forward(tf.tensor2d(x.subarray(r0 * this.dim, (r0 + rows) * this.dim), [rows, this.dim]), false).logits));
      probs.set(await takeFloat32(p), r0 * K);
    }
    return { probs, labels: argmaxRows(probs, K) };
  }

  /** Every state tensor by name (PyTorch-style keys), for checkpoints. */
  state(): Map<string, tf.Tensor> {
    return new Map([...this.neck.state('bottleneck'), ...this.head.state('head')]);
  }

  load(values: ReadonlyMap<string, Float32Array>): void {
    loadLayer(this.neck, 'bottleneck', values);
    loadLayer(this.head, 'head', values);
  }

  dispose(): void {
    for (const t of this.state().values()) t.dispose();
  }
}

/** Draws batches without replacement, reshuffling after each pass (a seeded endless loader). */
export class BatchSampler {
  private order: number[] = [];
  private pos = 0;
  constructor(private readonly n: number, private readonly batch: number, private readonly rng: Rng) {
    if (n === 0) throw new DamplError('cannot sample batches from an empty set', 'check the dataset split');
  }
  next(): number[] {
    const out: number[] = [];
    while (out.length < this.batch) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.permutation(this.n);
        this.pos = 0;
      }
      out.push(this.order[this.pos++]!);
    }
    return out;
  }
}

/** Rows `idx` of a device-resident matrix [N, E] -> [B, E]; only the indices cross to the device. */
export function gatherRows(x: tf.Tensor2D, idx: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => tf.gather(x, tf.tensor1d(idx as number[], 'int32')));
}

/**
 * torch.optim.SGD: g = grad + wd * p; buf = m * buf + g (buf = g at the first step);
 * p -= lr * (nesterov ? g + m * buf : buf).
 */
export class Sgd {
  private readonly velocity = new Map<tf.Variable, tf.Variable>();
  constructor(private readonly momentum: number, private readonly weightDecay: number, private readonly nesterov: boolean) {}

  step(grads: ReadonlyMap<tf.Variable, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [v, g0] of grads) {
        const g = this.weightDecay ? tf.add(g0, tf.mul(v, this.weightDecay)) : g0;
        let buf = this.velocity.get(v);
        if (!buf) {
          buf = tf.variable(tf.zerosLike(v), false);
          this.velocity.set(v, buf);
        }
        buf.assign(tf.add(tf.mul(buf, this.momentum), g));
        const update = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
  }

  dispose(): void {
    for (const b of this.velocity.values()) b.dispose();
    this.velocity.clear();
  }
}

/** TLlib's inverse-decay learning rate at iteration i (0-based). */
function inverseDecayLr(c: Pick<FeatureTrainConfig, 'lr' | 'lrGamma' | 'lrDecay'>, i: number): number {
  return c.lr * (1 + c.lrGamma * i) ** -c.lrDecay;
}

/**
 * One optimisation step over `params`: differentiates `lossFn` (which returns its named terms,
 * 'total' among them), applies SGD, returns the terms' values (the step's one read from the
 * device). Throws NonFiniteLossError before touching the parameters when a term is not finite.
 */
export async function sgdStep(params: tf.Variable[], sgd: Sgd, lr: number, lossFn: () => Record<string, tf.Scalar>, where: string): Promise<Record<string, number>> {
  let names: string[] = [];
  const kept: { terms?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const terms = lossFn();
    names = Object.keys(terms);
    kept.terms = tf.keep(tf.stack(Object.values(terms)));
    return terms.total!;
  }, params);
  value.dispose();
  let values: Float32Array;
  try {
    values = (await kept.terms!.data()) as Float32Array;
  } catch (e) {
    tf.dispose(grads);
    throw e;
  } finally {
    kept.terms!.dispose();
  }
  const losses = Object.fromEntries(names.map((k, i) => [k, values[i]!]));
  if (!Object.values(losses).every(Number.isFinite)) {
    tf.dispose(grads);
    throw new NonFiniteLossError(`non-finite loss ${where}: ${JSON.stringify(losses)}`, 'lower lr or check the features for NaN/Inf');
  }
  sgd.step(new Map(params.filter((p) => grads[p.name]).map((p) => [p, grads[p.name]!])), lr);
  tf.dispose(grads);
  return losses;
}

/**
 * Runs `itersPerEpoch` x `epochs` steps of `step(i, lr)` (i 0-based, lr from the inverse-decay
 * schedule at i), collecting epoch means, with abort and hooks. `offset` shifts the epoch and step
 * numbers reported (for a second stage of training), not the schedule.
 */
export async function runEpochs(
  cfg: Pick<FeatureTrainConfig, 'epochs' | 'itersPerEpoch' | 'lr' | 'lrGamma' | 'lrDecay'>,
  hooks: TrainHooks,
  model: FeatureClassifier,
  step: (i: number, lr: number) => Promise<Record<string, number>>,
  offset: { epoch: number; step: number } = { epoch: 0, step: 0 },
): Promise<FeatureEpoch[]> {
  const log = hooks.log ?? silentLogger;
  const history: FeatureEpoch[] = [];
  let i = 0;
  for (let e = 1; e <= cfg.epochs; e++) {
    const epoch = offset.epoch + e;
    const sums: Record<string, number> = {};
    const firstLr = inverseDecayLr(cfg, i);
    for (let b = 0; b < cfg.itersPerEpoch; b++, i++) {
      if (hooks.signal?.aborted) throw new TrainingAborted(`training stopped at epoch ${epoch}, step ${offset.step + i}`, 'feature-space methods train in one go; start the run again');
      const lr = inverseDecayLr(cfg, i);
      const losses = await step(i, lr);
      for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v;
      hooks.onStep?.({ epoch, step: offset.step + i + 1, lr, losses });
    }
    const record: FeatureEpoch = {
      epoch,
      step: offset.step + i,
      lr: firstLr,
      losses: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, cfg.itersPerEpoch)])),
    };
    history.push(record);
    log.debug(`epoch ${epoch} step ${record.step} lr ${firstLr.toExponential(2)} ${Object.entries(record.losses).map(([k, v]) => `${k}=${v.toPrecision(4)}`).join(' ')}`);
    await hooks.onEpoch?.(record, model);
  }
  return history;
}

/** Features [N, E] on the device, L2-normalised first when `normalize`: uploaded once per run. */
export function deviceFeatures(x: Float32Array, dim: number, normalize: boolean): tf.Tensor2D {
  return tf.tensor2d(normalize ? l2normalizeRows(x, dim) : x, [x.length / dim, dim]);
}

/**
 * Trains bottleneck + classifier (and the alignment's layers) on `data`; returns the classifier
 * and the per-epoch history. Seeded: initialisation from rng.fork('init'), batch orders from
 * rng.fork('source-order') and rng.fork('target-order'). The features and labels are uploaded
 * to the device once; each step sends its batch indices and reads back its losses.
 */
export async function trainHead(data: FeatureData, cfg: FeatureTrainConfig, rng: Rng, hooks: TrainHooks = {}, alignment?: Alignment):
Promise<{ model: FeatureClassifier; history: FeatureEpoch[] }> {
  const { dim, numClasses } = data;
  const model = new FeatureClassifier(dim, numClasses, cfg.bottleneckDim, cfg.normalize, rng.fork('init'), cfg.bottleneck);
  const params = [...model.params(), ...(alignment?.layers.flatMap((l) => l.params()) ?? [])];
  const sgd = new Sgd(cfg.momentum, cfg.weightDecay, cfg.nesterov);
  const srcBatches = new BatchSampler(data.sourceLabels.length, cfg.batchSize, rng.fork('source-order'));
  const tgtBatches = new BatchSampler(data.target.length / dim, cfg.batchSize, rng.fork('target-order'));
  const total = cfg.epochs * cfg.itersPerEpoch;
  let source = deviceFeatures(data.source, dim, cfg.normalize);
  let target = alignment ? deviceFeatures(data.target, dim, cfg.normalize) : undefined;
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(data.sourceLabels, 'int32'), numClasses).toFloat() as tf.Tensor2D); // [Ns, K]
  try {
    const history = await runEpochs(cfg, hooks, model, async (i, lr) => {
      if (data.views && i % cfg.itersPerEpoch === 0) {
        // the epoch's view of each row replaces the last epoch's on the device
        const epoch = i / cfg.itersPerEpoch + 1;
        const xs = await data.views('source', epoch);
        source.dispose();
        source = deviceFeatures(xs.data, dim, cfg.normalize);
        if (target) {
          const xt = await data.views('target', epoch);
          target.dispose();
          target = deviceFeatures(xt.data, dim, cfg.normalize);
        }
      }
      const si = srcBatches.next();
      const ti = alignment ? tgtBatches.next() : [];
      return sgdStep(params, sgd, lr, (): Record<string, tf.Scalar> => {
        const xs = gatherRows(source, si);
        const ys = gatherRows(labels, si);
        const B = si.length;
        const { f, logits } = model.forward(target ? tf.concat([xs, gatherRows(target, ti)], 0) : xs, true);
        const logitsS = tf.slice(logits, [0, 0], [B, -1]);
        const cls = tf.losses.softmaxCrossEntropy(ys, logitsS, undefined, cfg.labelSmoothing ?? 0) as tf.Scalar;
        if (!alignment) return { cls, total: cls };
        const transfer = alignment.loss({
          fs: tf.slice(f, [0, 0], [B, -1]),
          ft: tf.slice(f, [B, 0], [-1, -1]),
          logitsS,
          logitsT: tf.slice(logits, [B, 0], [-1, -1]),
        }, i, total);
        return { cls, transfer, total: tf.add(cls, tf.mul(transfer, cfg.tradeOff)) as tf.Scalar };
      }, `at step ${i + 1}`);
    });
    return { model, history };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    sgd.dispose();
    tf.dispose([source, labels, ...(target ? [target] : [])]);
  }
}
