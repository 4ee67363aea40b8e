/**
 * The training loop shared by the feature-space baselines (source-only head, DANN, DAN): a
 * bottleneck and a classifier on frozen CLIP features, trained with SGD with momentum and
 * TLlib's inverse-decay schedule lr_i = lr0 * (1 + gamma * i)^(-decay), on balanced mini-batches
 * of B source and B target features, plus an optional alignment loss between the bottleneck
 * features of the two domains.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DamplError, type Rng, type Logger } from '@dampl/runtime';
import { BatchNorm1d, Linear, ReLU, Sequential, type Layer } from './nn.js';

export interface FeatureData {
  /** [Ns, E] row-major. */
  source: Float32Array;
  sourceLabels: Int32Array;
  /** [Nt, E] unlabelled target training features. */
  target: Float32Array;
  dim: number;
  numClasses: number;
}

export interface FeatureTrainConfig {
  iterations: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  lrGamma: number;
  lrDecay: number;
  bottleneckDim: number;
  /** L2-normalise the features first (CLIP features are compared by cosine). */
  normalize: boolean;
  /** Weight of the alignment loss. */
  tradeOff: number;
}

export interface Alignment {
  /** Extra trainable layers (e.g. a domain discriminator). */
  layers: Layer[];
  /** Alignment loss on bottleneck features fs, ft [B, D]; `step` of `total`. */
  loss(fs: tf.Tensor2D, ft: tf.Tensor2D, step: number, total: number): tf.Scalar;
}

export interface FeatureHistoryRecord {
  step: number;
  lr: number;
  clsLoss: number;
  alignLoss: number;
}

export interface TrainedHead {
  /** Class probabilities [N, K] for features [N, E]. */
  predict(features: Float32Array): Float32Array;
  history: FeatureHistoryRecord[];
  /** Every state tensor by name, for checkpoints. */
  state(): Map<string, tf.Tensor>;
  dispose(): void;
}

/** Bottleneck of DANN/DAN on a frozen backbone: Linear(E, d) - BN - ReLU, as TLlib's ImageClassifier. */
export function bottleneck(dim: number, out: number, rng: Rng): Sequential {
  return new Sequential(new Linear(dim, out, rng), new BatchNorm1d(out), new ReLU());
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

/** Draws batches without replacement, reshuffling at the end of each pass (a seeded infinite loader). */
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

export function gatherRows(x: Float32Array, dim: number, idx: number[]): tf.Tensor2D {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return tf.tensor2d(out, [idx.length, dim]);
}

/** Momentum SGD as PyTorch's: weight decay added to the gradient, v = m v + g, w -= lr v. */
class Sgd {
  private readonly velocity = new Map<tf.Variable, tf.Variable>();
  constructor(private readonly momentum: number, private readonly weightDecay: number) {}
  step(grads: Map<tf.Variable, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [v, g0] of grads) {
        const g = this.weightDecay ? tf.add(g0, tf.mul(v, this.weightDecay)) : g0;
        let buf = this.velocity.get(v);
        if (!buf) {
          buf = tf.variable(tf.zerosLike(v), false);
          this.velocity.set(v, buf);
        }
        buf.assign(tf.add(tf.mul(buf, this.momentum), g));
        v.assign(tf.sub(v, tf.mul(buf, lr)));
      }
    });
  }
  dispose(): void {
    for (const b of this.velocity.values()) b.dispose();
  }
}

export function trainHead(data: FeatureData, cfg: FeatureTrainConfig, rng: Rng, log: Logger, alignment?: Alignment): TrainedHead {
  const { dim, numClasses } = data;
  const source = cfg.normalize ? l2normalizeRows(data.source, dim) : data.source;
  const target = cfg.normalize ? l2normalizeRows(data.target, dim) : data.target;
  const ns = data.sourceLabels.length;
  const nt = target.length / dim;
  const init = rng.fork('init');
  const neck = bottleneck(dim, cfg.bottleneckDim, init);
  const head = new Linear(cfg.bottleneckDim, numClasses, init);
  const params = [...neck.params(), ...head.params(), ...(alignment?.layers.flatMap((l) => l.params()) ?? [])];
  const sgd = new Sgd(cfg.momentum, cfg.weightDecay);
  const srcBatches = new BatchSampler(ns, cfg.batchSize, rng.fork('source-order'));
  const tgtBatches = new BatchSampler(nt, cfg.batchSize, rng.fork('target-order'));
  const history: FeatureHistoryRecord[] = [];
  for (let step = 0; step < cfg.iterations; step++) {
    const lr = cfg.lr * (1 + cfg.lrGamma * step) ** -cfg.lrDecay;
    const si = srcBatches.next();
    const ti = alignment ? tgtBatches.next() : [];
    let cls = 0;
    let align = 0;
    const { grads, value } = tf.tidy(() => {
      const xs = gatherRows(source, dim, si);
      const ys = tf.cast(tf.oneHot(tf.tensor1d(si.map((i) => data.sourceLabels[i]!), 'int32'), numClasses), 'float32');
      const xt = alignment ? gatherRows(target, dim, ti) : undefined;
      return tf.variableGrads(() => {
        // one forward over the joint batch, so BatchNorm sees both domains as in TLlib
        const f = neck.apply(xt ? tf.concat([xs, xt], 0) : xs, true);
        const fs = f.slice([0, 0], [si.length, -1]) as tf.Tensor2D;
        const lc = tf.losses.softmaxCrossEntropy(ys, head.apply(fs)) as tf.Scalar;
        cls = lc.dataSync()[0]!;
        if (!alignment || !xt) return lc;
        const ft = f.slice([si.length, 0], [ti.length, -1]) as tf.Tensor2D;
        const la = alignment.loss(fs, ft, step, cfg.iterations);
        align = la.dataSync()[0]!;
        return tf.add(lc, tf.mul(la, cfg.tradeOff)) as tf.Scalar;
      }, params);
    });
    const total = value.dataSync()[0]!;
    value.dispose();
    if (!Number.isFinite(total)) {
      tf.dispose(Object.values(grads));
      throw new DamplError(`loss is ${total} at step ${step} (classification ${cls}, alignment ${align})`,
        `last finite record: ${JSON.stringify(history.at(-1) ?? null)}; lower lr (now ${cfg.lr}) or check the features for NaN`);
    }
    sgd.step(new Map(params.map((p) => [p, grads[p.name]!])), lr);
    tf.dispose(Object.values(grads));
    if (step % Math.max(1, Math.floor(cfg.iterations / 10)) === 0 || step === cfg.iterations - 1) {
      history.push({ step, lr, clsLoss: cls, alignLoss: align });
      log.debug(`step ${step}/${cfg.iterations} lr ${lr.toExponential(2)} cls ${cls.toFixed(4)} align ${align.toFixed(4)}`);
    }
  }
  sgd.dispose();
  const layers: Layer[] = [neck, head, ...(alignment?.layers ?? [])];
  return {
    history,
    predict(features: Float32Array): Float32Array {
      const x = cfg.normalize ? l2normalizeRows(features, dim) : features;
      const n = x.length / dim;
      const out = new Float32Array(n * numClasses);
      for (let i = 0; i < n; i += 1024) {
        const rows = Math.min(1024, n - i);
        const p = tf.tidy(() => tf.softmax(head.apply(neck.apply(tf.tensor2d(x.subarray(i * dim, (i + rows) * dim), [rows, dim]), false))));
        out.set(p.dataSync() as Float32Array, i * numClasses);
        p.dispose();
      }
      return out;
    },
    state() {
      const m = new Map<string, tf.Tensor>();
      neck.state('bottleneck').forEach((v, k) => m.set(k, v));
      head.state('head').forEach((v, k) => m.set(k, v));
      alignment?.layers.forEach((l, i) => l.state(`align${i}`).forEach((v, k) => m.set(k, v)));
      return m;
    },
    dispose() {
      for (const l of layers) for (const t of l.state('x').values()) t.dispose();
    },
  };
}
