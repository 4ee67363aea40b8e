/**
 * The training loop shared by prompt-learning methods: paired source/target batches, optimizer
 * and learning-rate schedule, NaN guard, per-epoch history, resumable checkpoints.
 *
 * Batches follow Dassl's TrainerXU as DAPL uses it (Dassl dassl/engine/trainer.py, DAPL
 * trainers/dapl.py `run_epoch`): each epoch starts a fresh shuffle of both sets; the number of
 * steps per epoch is the number of source batches (Dassl TRAIN.COUNT_ITER = "train_x", the default
 * DAPL keeps), and the other set restarts with a new shuffle whenever it runs out. Training
 * loaders drop the last incomplete batch when the set holds at least one batch (Dassl
 * dassl/data/data_manager.py, build_data_loader: drop_last = is_train and len >= batch_size).
 * `countIter` can instead count target batches, the smaller or the larger set's batches.
 *
 * Every random choice is seeded: batch orders come from Rng(seed).fork('order'), whose 'source'
 * and 'target' streams are saved in checkpoints, so a resumed run continues bit for bit.
 * Only the model's parameters are tf.Variables the optimizer touches. Every step's tensors are
 * freed (tf.tidy or explicit dispose); dampl.test.ts checks that tf.memory().numTensors stays
 * constant across steps and epochs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DamplError, Rng, silentLogger, type Logger } from '@dampl/runtime';
import { readCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint.js';
import { hashConfig } from '@dampl/runtime';
import type { EpochRecord, MethodState, StepRecord } from './methods.js';
import { createOptimizer, learningRate, type OptimConfig } from './optim.js';

export interface LoopConfig {
  epochs: number;
  /** Stop after this many steps in all (0: no limit). */
  maxSteps: number;
  batchSource: number;
  batchTarget: number;
  countIter: 'source' | 'target' | 'smaller' | 'larger';
}

export type TrainerConfig = OptimConfig & LoopConfig;

export interface Batch {
  /** Indices into the source set [Bs]. */
  source: Int32Array;
  /** Indices into the target set [Bt]. */
  target: Int32Array;
}

/** What a method gives the trainer. */
export interface TrainModel {
  /** Trainable variables by checkpoint name. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Before each epoch (0-based), outside the tape: e.g. refresh pseudo-labels. */
  beforeEpoch?(epoch: number): Partial<EpochRecord> | Promise<Partial<EpochRecord>>;
  /** The loss of one step. Called under the gradient tape and tf.tidy. */
  loss(batch: Batch, epoch: number): { total: tf.Scalar; terms: Record<string, tf.Scalar> };
  /** After each epoch (0-based): evaluation numbers for the record. */
  afterEpoch?(epoch: number): Partial<EpochRecord> | Promise<Partial<EpochRecord>>;
  /** The learned state, for checkpoints (read from the device). */
  state(history: EpochRecord[]): Promise<MethodState>;
}

export interface TrainOptions {
  config: TrainerConfig;
  /** The full method config: its hash guards resuming with different settings. */
  methodConfig: unknown;
  nSource: number;
  nTarget: number;
  seed: number;
  logger?: Logger;
  onEpoch?: (r: EpochRecord) => void;
  onStep?: (r: StepRecord) => void;
  signal?: AbortSignal;
  checkpoint?: { dir: string; every?: number; keep?: number };
  resumeFrom?: string;
}

/** A run stopped through its AbortSignal. */
export class TrainingAborted extends DamplError {}

/** A loss that is NaN or infinite. */
export class NonFiniteLossError extends DamplError {}

/** Hands out shuffled batches of one set. */
export class BatchStream {
  private order: number[] = [];
  private pos = 0;
  readonly dropLast: boolean;

  constructor(readonly n: number, readonly batch: number, readonly rng: Rng) {
    if (n <= 0) throw new DamplError('a training set is empty');
    this.dropLast = n >= batch;
  }

  /** Batches in one pass. */
  get perPass(): number {
    return this.dropLast ? Math.floor(this.n / this.batch) : 1;
  }

  /** Starts a new pass with a fresh shuffle. */
  restart(): void {
    this.order = this.rng.permutation(this.n);
    this.pos = 0;
  }

  next(): Int32Array {
    const size = Math.min(this.batch, this.n);
    if (this.pos + size > this.n || this.order.length === 0) this.restart();
    const out = Int32Array.from(this.order.slice(this.pos, this.pos + size));
    this.pos += size;
    return out;
  }
}

export function stepsPerEpoch(c: Pick<LoopConfig, 'countIter'>, source: BatchStream, target: BatchStream): number {
  switch (c.countIter) {
    case 'source': return source.perPass;
    case 'target': return target.perPass;
    case 'smaller': return Math.min(source.perPass, target.perPass);
    case 'larger': return Math.max(source.perPass, target.perPass);
  }
}

const fmt = (losses: Record<string, number>) => Object.entries(losses).map(([k, v]) => `${k}=${v.toPrecision(5)}`).join(' ');

/** Trains `model`; returns its history. Throws NonFiniteLossError or TrainingAborted. */
export async function train(model: TrainModel, opts: TrainOptions): Promise<EpochRecord[]> {
  const c = opts.config;
  const log = opts.logger ?? silentLogger;
  const configHash = hashConfig(opts.methodConfig);
  const order = new Rng(opts.seed).fork('order');
  const src = new BatchStream(opts.nSource, c.batchSource, order.fork('source'));
  const tgt = new BatchStream(opts.nTarget, c.batchTarget, order.fork('target'));
  const perEpoch = stepsPerEpoch(c, src, tgt);
  const optimizer = createOptimizer(c, model.params);
  const paramList = [...model.params.values()];
  const nameOf = new Map(paramList.map((v, i) => [v.name, [...model.params.keys()][i]!]));

  let history: EpochRecord[] = [];
  let step = 0;
  let startEpoch = 0;
  let lastCheckpoint: string | undefined;
  try {
    if (opts.resumeFrom) {
      const ck = await readCheckpoint(opts.resumeFrom);
      if (ck.trainer.configHash !== configHash || ck.trainer.seed !== opts.seed) {
        throw new ConfigError(`cannot resume from ${ck.dir}: it was written with ${ck.trainer.seed !== opts.seed ? `seed ${ck.trainer.seed}, not ${opts.seed}` : 'another config'}`,
          'resume with the same config and seed, or start a new run');
      }
      for (const [name, v] of model.params) {
        const t = ck.method.tensors[name];
        if (!t || t.data.length !== v.size) throw new ConfigError(`checkpoint ${ck.dir} has no tensor '${name}' of ${v.size} values`);
        tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, v.shape)));
      }
      optimizer.load(ck.optimizer, ck.trainer.optimizer.steps);
      src.rng.setState(ck.trainer.rng.source!);
      tgt.rng.setState(ck.trainer.rng.target!);
      history = ck.trainer.history;
      step = ck.trainer.step;
      startEpoch = ck.trainer.epoch;
      lastCheckpoint = ck.dir;
      log.info(`resumed from ${ck.dir} after epoch ${startEpoch} (step ${step})`);
    }

    let lastFinite: { step: number; losses: Record<string, number> } | undefined;
    for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
      if (c.maxSteps && step >= c.maxSteps) break;
      const t0 = performance.now();
      const before = (await model.beforeEpoch?.(epoch)) ?? {};
      src.restart();
      tgt.restart();
      const sums: Record<string, number> = {};
      let n = 0;
      let firstLr = NaN;
      for (let b = 0; b < perEpoch; b++) {
        if (opts.signal?.aborted) {
          throw new TrainingAborted(`training stopped at epoch ${epoch + 1}, step ${step}`,
            lastCheckpoint ? `resume with resumeFrom: ${lastCheckpoint}` : 'no checkpoint was written; set the checkpoint option to make runs resumable');
        }
        if (c.maxSteps && step >= c.maxSteps) break;
        const lr = learningRate(c, c.lrStepPer === 'batch' ? step : epoch);
        if (b === 0) firstLr = lr;
        const batch = { source: src.next(), target: tgt.next() };
        let names: string[] = [];
        const kept: { terms?: tf.Tensor } = {};
        const { value, grads } = tf.variableGrads(() => {
          const { total, terms } = model.loss(batch, epoch);
          names = [...Object.keys(terms), 'total'];
          kept.terms = tf.keep(tf.stack([...Object.values(terms), total]));
          return total;
        }, paramList);
        // the step's one read from the device: its loss terms, for the NaN guard and the log
        let values: Float32Array;
        try {
          values = (await kept.terms!.data()) as Float32Array;
        } finally {
          kept.terms!.dispose();
        }
        value.dispose();
        const losses = Object.fromEntries(names.map((k, i) => [k, values[i]!]));
        step++;
        if (!Object.values(losses).every(Number.isFinite)) {
          tf.dispose(grads);
          throw new NonFiniteLossError(
            `non-finite loss at step ${step} (epoch ${epoch + 1}, batch ${b + 1} of ${perEpoch}): ${fmt(losses)}; ` +
            (lastFinite ? `last finite losses at step ${lastFinite.step}: ${fmt(lastFinite.losses)}` : 'no earlier finite step'),
            `lower the learning rate or check the features for NaN/Inf; ${lastCheckpoint ? `the checkpoint ${lastCheckpoint} is intact and can be resumed` : 'no checkpoint was written'}`);
        }
        const gradMap = new Map(Object.entries(grads).map(([vn, g]) => [nameOf.get(vn)!, g]));
        optimizer.apply(model.params, gradMap, lr);
        tf.dispose(grads);
        lastFinite = { step, losses };
        for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v;
        n++;
        opts.onStep?.({ epoch: epoch + 1, step, lr, losses });
      }
      const after = (await model.afterEpoch?.(epoch)) ?? {};
      const record: EpochRecord = {
        ...before,
        ...after,
        epoch: epoch + 1,
        step,
        lr: firstLr,
        losses: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)])),
      };
      if (before.extra || after.extra) record.extra = { ...before.extra, ...after.extra };
      history.push(record);
      log.info(`epoch ${epoch + 1}/${c.epochs} step ${step} lr ${firstLr.toExponential(3)} ${fmt(record.losses)}` +
        (record.pseudoCoverage !== undefined ? ` coverage ${record.pseudoCoverage.toFixed(3)}` : '') +
        (record.evalAccuracy !== undefined ? ` eval acc ${(100 * record.evalAccuracy).toFixed(2)}%` : '') +
        ` (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
      const ck = opts.checkpoint;
      const last = epoch + 1 === c.epochs || (c.maxSteps > 0 && step >= c.maxSteps);
      if (ck && ((epoch + 1) % (ck.every ?? 1) === 0 || last)) {
        const trainer: TrainerState = {
          epoch: epoch + 1, step, seed: opts.seed, configHash,
          rng: { source: src.rng.state(), target: tgt.rng.state() },
          optimizer: { name: optimizer.name, steps: optimizer.steps },
          history,
        };
        lastCheckpoint = await writeCheckpoint(ck.dir, { method: await model.state(history), optimizer: await optimizer.slots(), trainer }, ck.keep ?? 1);
      }
      opts.onEpoch?.(record);
    }
    return history;
  } finally {
    optimizer.dispose();
  }
}
