/**
 * Small trainable layers for the feature-space baselines (bottlenecks, classifiers,
 * discriminators on top of frozen CLIP features). Parameters are tf.Variables initialised from
 * a seeded Rng, as PyTorch's defaults do: weights and biases uniform in +-1/sqrt(fan_in).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DamplError, matMul, stopGradient, type Rng } from '@dampl/runtime';

export interface Layer {
  /** Forward pass; `training` switches BatchNorm to batch statistics and updates running ones. */
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
  /** Trainable parameters. */
  params(): tf.Variable[];
  /** Every state tensor by name (trainable and running statistics), for checkpoints. */
  state(prefix: string): Map<string, tf.Tensor>;
}

let uid = 0;
const name = (kind: string) => `baselines/${kind}_${uid++}`;

/** y = x W + b, W stored [in, out] so the forward product needs no transpose. */
export class Linear implements Layer {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(inDim: number, outDim: number, rng: Rng) {
    const bound = 1 / Math.sqrt(inDim);
    const u = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
    this.w = tf.tidy(() => tf.variable(tf.tensor2d(u(inDim * outDim), [inDim, outDim]), true, name('linear_w')));
    this.b = tf.tidy(() => tf.variable(tf.tensor1d(u(outDim)), true, name('linear_b')));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(matMul(x, this.w as tf.Tensor2D), this.b);
  }

  params(): tf.Variable[] {
    return [this.w, this.b];
  }

  state(prefix: string): Map<string, tf.Tensor> {
    return new Map([[`${prefix}.weight`, this.w], [`${prefix}.bias`, this.b]]);
  }
}

/** BatchNorm1d over [N, C]: eps 1e-5, momentum 0.1 for the running statistics, as PyTorch. */
export class BatchNorm1d implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(readonly dim: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    this.gamma = tf.tidy(() => tf.variable(tf.ones([dim]), true, name('bn_gamma')));
    this.beta = tf.tidy(() => tf.variable(tf.zeros([dim]), true, name('bn_beta')));
    this.runningMean = tf.tidy(() => tf.variable(tf.zeros([dim]), false, name('bn_mean')));
    this.runningVar = tf.tidy(() => tf.variable(tf.ones([dim]), false, name('bn_var')));
  }

  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (!training) {
      return tf.add(tf.mul(tf.div(tf.sub(x, this.runningMean), tf.sqrt(tf.add(this.runningVar, this.eps))), this.gamma), this.beta);
    }
    const mean = tf.mean(x, 0); // [C]
    const variance = tf.mean(tf.square(tf.sub(x, mean)), 0); // [C], biased, as PyTorch normalises
    const n = x.shape[0];
    tf.tidy(() => {
      const m = this.momentum;
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(stopGradient(mean), m)));
      const unbiased = tf.mul(stopGradient(variance), n / Math.max(1, n - 1));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.gamma), this.beta);
  }

  params(): tf.Variable[] {
    return [this.gamma, this.beta];
  }

  state(prefix: string): Map<string, tf.Tensor> {
    return new Map<string, tf.Tensor>([
      [`${prefix}.weight`, this.gamma], [`${prefix}.bias`, this.beta],
      [`${prefix}.running_mean`, this.runningMean], [`${prefix}.running_var`, this.runningVar],
    ]);
  }
}

export class ReLU implements Layer {
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.relu(x);
  }
  params(): tf.Variable[] {
    return [];
  }
  state(): Map<string, tf.Tensor> {
    return new Map();
  }
}

/**
 * Inverted dropout (torch.nn.Dropout): in training each unit is zeroed with probability p and the
 * others are scaled by 1 / (1 - p); in eval the identity. The masks come from a seeded Rng, drawn
 * on the host ([N, d] uniforms a call), so a run is reproducible.
 */
export class Dropout implements Layer {
  constructor(readonly p: number, private readonly rng: Rng) {
    if (!(p >= 0 && p < 1)) throw new DamplError(`dropout probability ${p} is outside [0, 1)`, 'use e.g. 0.5 (TLlib DAN)');
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (!training || this.p === 0) return x;
    const keep = 1 / (1 - this.p);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() >= this.p ? keep : 0;
    return tf.mul(x, tf.tensor2d(mask, x.shape));
  }
  params(): tf.Variable[] {
    return [];
  }
  state(): Map<string, tf.Tensor> {
    return new Map();
  }
}

export class Sequential implements Layer {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    this.layers = layers;
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.layers.reduce((h, l) => l.apply(h, training), x);
  }
  params(): tf.Variable[] {
    return this.layers.flatMap((l) => l.params());
  }
  state(prefix: string): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    this.layers.forEach((l, i) => l.state(`${prefix}.${i}`).forEach((v, k) => out.set(k, v)));
    return out;
  }
}

/** Disposes every variable a layer owns (trainable and running statistics). */
export function disposeLayer(l: Layer): void {
  for (const t of l.state('x').values()) t.dispose();
}

/** Overwrites a layer's state (as `state(prefix)` names it) from saved values. */
export function loadLayer(l: Layer, prefix: string, values: ReadonlyMap<string, Float32Array>): void {
  for (const [key, t] of l.state(prefix)) {
    const data = values.get(key);
    if (!data || data.length !== t.size) {
      throw new DamplError(`saved state has ${data ? `${data.length} values` : 'no tensor'} for '${key}' [${t.shape.join(', ')}]`,
        'the state was saved with another feature size, bottleneck size or number of classes');
    }
    tf.tidy(() => (t as tf.Variable).assign(tf.tensor(data, t.shape)));
  }
}
