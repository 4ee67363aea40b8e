/**
 * Optimizers and the learning-rate schedule, as Dassl (KaiyangZhou/Dassl.pytorch
 * dassl/optim/optimizer.py, lr_scheduler.py) builds them for DAPL. Written out here instead of
 * using tf.train so that the slots are named tensors that a checkpoint saves and restores
 * exactly, and the learning rate can change every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, readFloat32, type SafeTensor } from '@dampl/runtime';

export interface OptimConfig {
  optimizer: 'sgd' | 'adam';
  lr: number;
  /** SGD momentum (Dassl OPTIM.MOMENTUM = 0.9; dampening 0, no Nesterov). */
  momentum: number;
  /** L2 weight decay added to the gradient, as torch.optim.SGD/Adam (Dassl OPTIM.WEIGHT_DECAY = 5e-4). */
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  lrSchedule: 'cosine' | 'constant';
  warmupEpochs: number;
  /** Dassl OPTIM.WARMUP_TYPE. */
  warmupType: 'linear' | 'constant';
  /** WARMUP_MIN_LR (linear) or WARMUP_CONS_LR (constant); both 1e-5 in Dassl and DAPL. */
  warmupLr: number;
  /** How often the scheduler advances: once per epoch, or once per batch as DAPL's released trainer does. */
  lrStepPer: 'epoch' | 'batch';
  /** Epochs (the cosine period, Dassl's CosineAnnealingLR(T_max = MAX_EPOCH)). */
  epochs: number;
}

/**
 * Learning rate after the scheduler has advanced `t` times (t = 0-based epoch, or 0-based step
 * with lrStepPer = 'batch'). Dassl's warm-up wrapper with WARMUP_RECOUNT = True:
 *
 *   t <  W:  linear: t == 0 ? warmupLr : lr * t / W;   constant: warmupLr
 *   t >= W:  cosine: lr * (1 + cos(pi * (t - W) / epochs)) / 2;   constant: lr
 *
 * DAPL's configs (configs/trainers/DAPL/ep25-32-csc.yaml) set W = 1, linear, WARMUP_MIN_LR 1e-5,
 * so epoch 0 runs at 1e-5 and the cosine starts at lr in epoch 1. DAPL's trainer
 * (trainers/dapl.py, forward_backward) calls update_lr() after every batch, so its scheduler
 * advances per batch and the cosine with T_max = 25 repeats every 50 batches: its released VisDA
 * log (output/visda17/DAPL/ep25-32-csc/1.0_0.6_1.0_t0/seed_2/log.txt, 4762 batches per epoch)
 * prints, after the scheduler step of batch 100, 2.988e-3 in epoch 1 and 1.781e-3 in epoch 2,
 * which this formula gives for t = 100 and t = 4862. `lrStepPer: 'batch'` reproduces that and is
 * what `dapl@released` runs (lr-schedule.test.ts holds its first 200 rates beside torch's
 * CosineAnnealingLR in Dassl's warm-up); 'epoch' (the default) follows the schedule the configs
 * describe. Torch's recursive CosineAnnealingLR equals this closed form, past T_max too (period
 * 2 T_max), up to rounding.
 */
export function learningRate(c: Pick<OptimConfig, 'lr' | 'lrSchedule' | 'warmupEpochs' | 'warmupType' | 'warmupLr' | 'epochs'>, t: number): number {
  const W = c.warmupEpochs;
  if (t < W) return c.warmupType === 'constant' || t === 0 ? c.warmupLr : (c.lr * t) / W;
  if (c.lrSchedule === 'constant') return c.lr;
  return (c.lr * (1 + Math.cos((Math.PI * (t - W)) / c.epochs))) / 2;
}

export interface Optimizer {
  readonly name: 'sgd' | 'adam';
  /** Steps taken. */
  readonly steps: number;
  /** Applies one update to `params` from `grads` (same keys) at learning rate `lr`; a parameter without a gradient is left alone, as torch does. */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;
  /** Slot tensors by checkpoint name, e.g. 'ctx.momentum_buffer'. */
  slots(): Promise<Map<string, SafeTensor>>;
  load(slots: ReadonlyMap<string, Float32Array>, steps: number): void;
  dispose(): void;
}

/** Creates the configured optimizer with zeroed slots for every parameter. */
export function createOptimizer(c: OptimConfig, params: ReadonlyMap<string, tf.Variable>): Optimizer {
  return c.optimizer === 'adam' ? new Adam(c, params) : new Sgd(c, params);
}

abstract class SlotOptimizer implements Optimizer {
  abstract readonly name: 'sgd' | 'adam';
  protected readonly slotVars = new Map<string, tf.Variable>();
  steps = 0;

  constructor(slotNames: string[], params: ReadonlyMap<string, tf.Variable>) {
    for (const [p, v] of params) {
      for (const s of slotNames) this.slotVars.set(`${p}.${s}`, tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    }
  }

  abstract apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;

  protected slot(param: string, name: string): tf.Variable {
    return this.slotVars.get(`${param}.${name}`)!;
  }

  async slots(): Promise<Map<string, SafeTensor>> {
    const vars = [...this.slotVars];
    const values = await readFloat32(vars.map(([, v]) => v));
    return new Map(vars.map(([name, v], i) => [name, { dtype: 'F32', shape: [...v.shape], data: values[i]! }]));
  }

  load(slots: ReadonlyMap<string, Float32Array>, steps: number): void {
    for (const [name, v] of this.slotVars) {
      const data = slots.get(name);
      if (!data || data.length !== v.size) throw new ConfigError(`optimizer state: slot '${name}' is missing or has the wrong size`, 'the checkpoint was written with another optimizer or model');
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
    this.steps = steps;
  }

  dispose(): void {
    for (const v of this.slotVars.values()) v.dispose();
  }
}

/**
 * torch.optim.SGD with momentum m, dampening 0, no Nesterov, L2 weight decay wd:
 *   g <- grad + wd * p;  buf <- m * buf + g  (buf = g on the first step);  p <- p - lr * buf
 * (the zero-initialised buffer gives buf = g exactly on the first step).
 */
class Sgd extends SlotOptimizer {
  readonly name = 'sgd' as const;

  constructor(private readonly c: OptimConfig, params: ReadonlyMap<string, tf.Variable>) {
    super(['momentum_buffer'], params);
  }

  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [name, p] of params) {
        let g = grads.get(name);
        if (!g) continue;
        if (this.c.weightDecay) g = tf.add(g, tf.mul(p, this.c.weightDecay));
        let step = g;
        if (this.c.momentum) {
          const buf = this.slot(name, 'momentum_buffer');
          buf.assign(tf.add(tf.mul(buf, this.c.momentum), g));
          step = buf;
        }
        p.assign(tf.sub(p, tf.mul(step, lr)));
      }
    });
    this.steps++;
  }
}

/**
 * torch.optim.Adam with L2 weight decay (Dassl's 'adam'):
 *   g <- grad + wd * p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
class Adam extends SlotOptimizer {
  readonly name = 'adam' as const;

  constructor(private readonly c: OptimConfig, params: ReadonlyMap<string, tf.Variable>) {
    super(['exp_avg', 'exp_avg_sq'], params);
  }

  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const t = this.steps + 1;
    const { adamBeta1: b1, adamBeta2: b2, adamEps: eps } = this.c;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    tf.tidy(() => {
      for (const [name, p] of params) {
        let g = grads.get(name);
        if (!g) continue;
        if (this.c.weightDecay) g = tf.add(g, tf.mul(p, this.c.weightDecay));
        const m = this.slot(name, 'exp_avg');
        const v = this.slot(name, 'exp_avg_sq');
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
    this.steps = t;
  }
}
