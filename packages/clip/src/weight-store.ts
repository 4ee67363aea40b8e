/**
 * A model's weights in the layouts the forward pass wants (see layers.ts on why linear weights
 * are held transposed).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchNorm, Linear, Norm } from './layers.js';

interface Held {
  /** Canonical layout; released once a transposed form exists and nothing asked to keep it. */
  canonical?: tf.Tensor;
  keepCanonical?: boolean;
  /** [in, out] for a linear weight. */
  linear?: tf.Tensor2D;
  /** [kh, kw, in, out] for a conv kernel. */
  conv?: tf.Tensor4D;
}

/**
 * Owns a model's weight tensors, keyed by canonical (OpenAI) name. Towers take their parameters
 * from it at construction: linear weights as [in, out] and conv kernels as [kh, kw, in, out],
 * transposed once; the canonical original is released unless a gradient path keeps it.
 * `canonical()` gives every tensor back in canonical layout (re-materialising released ones once,
 * on demand, cached until dispose).
 */
export class WeightStore {
  private readonly held = new Map<string, Held>();
  private canonicalCache: Map<string, tf.Tensor> | undefined;
  private disposed = false;

  /**
   * Takes ownership of `tensors`, which must be in canonical layout. With `trainable`, every
   * weight the towers take becomes a tf.Variable in the layout they take it in (BatchNorm running
   * statistics excepted), `variables()` lists them, and `canonical()` transposes afresh each call.
   */
  constructor(tensors: Map<string, tf.Tensor>, readonly options: { trainable?: boolean } = {}) {
    for (const [name, t] of tensors) this.held.set(name, { canonical: t });
  }

  private readonly vars = new Map<string, tf.Variable>();

  /** The trainable variables by canonical name (empty unless made with `trainable`). */
  variables(): Map<string, tf.Variable> {
    return new Map(this.vars);
  }

  /** In trainable mode, replaces a freshly derived tensor by a variable that owns its values. */
  private asVariable<T extends tf.Tensor>(name: string, t: T): T {
    if (!this.options.trainable) return t;
    const v = tf.variable(t, !/running_(mean|var)$/.test(name), `clip/${name}`);
    t.dispose();
    if (v.trainable) this.vars.set(name, v);
    return v as unknown as T;
  }

  has(name: string): boolean {
    return this.held.has(name);
  }

  get names(): string[] {
    return [...this.held.keys()];
  }

  private get(name: string): Held {
    if (this.disposed) throw new Error('the model has been disposed');
    const h = this.held.get(name);
    if (!h) throw new Error(`weight '${name}' is not loaded`);
    return h;
  }

  private canonicalOf(h: Held): tf.Tensor {
    if (!h.canonical) {
      h.canonical = tf.keep(h.linear ? tf.transpose(h.linear, [1, 0]) : tf.transpose(h.conv!, [3, 2, 0, 1]));
    }
    return h.canonical;
  }

  private release(h: Held): void {
    if (!h.keepCanonical && h.canonical) {
      h.canonical.dispose();
      h.canonical = undefined;
    }
  }

  tensor(name: string): tf.Tensor {
    const h = this.get(name);
    if (this.options.trainable && h.canonical && !h.linear && !h.conv && !this.vars.has(name) && !/running_/.test(name)) {
      h.canonical = this.asVariable(name, h.canonical);
    }
    return this.canonicalOf(h);
  }

  vector(name: string): tf.Tensor1D {
    return this.tensor(name) as tf.Tensor1D;
  }

  matrix(name: string): tf.Tensor2D {
    return this.tensor(name) as tf.Tensor2D;
  }

  /** torch nn.Linear weight [out, in] held as [in, out]; with `keepCanonical`, also as [out, in]. */
  linearWeights(name: string, keepCanonical = false): { w: tf.Tensor2D; wt?: tf.Tensor2D } {
    const h = this.get(name);
    if (!h.linear) h.linear = this.asVariable(name, tf.keep(tf.transpose(this.canonicalOf(h) as tf.Tensor2D, [1, 0])));
    if (keepCanonical && !this.options.trainable) {
      h.keepCanonical = true;
      return { w: h.linear, wt: this.canonicalOf(h) as tf.Tensor2D };
    }
    this.release(h);
    return { w: h.linear };
  }

  linear(prefix: string, keepCanonical = false, bias = true): Linear {
    return { ...this.linearWeights(`${prefix}.weight`, keepCanonical), b: bias ? this.vector(`${prefix}.bias`) : undefined };
  }

  /** torch Conv2d weight [out, in, kh, kw], held as tf's [kh, kw, in, out]. */
  conv(name: string): tf.Tensor4D {
    const h = this.get(name);
    if (!h.conv) h.conv = this.asVariable(name, tf.keep(tf.transpose(this.canonicalOf(h) as tf.Tensor4D, [2, 3, 1, 0])));
    this.release(h);
    return h.conv;
  }

  norm(prefix: string): Norm {
    return { weight: this.vector(`${prefix}.weight`), bias: this.vector(`${prefix}.bias`) };
  }

  batchNorm(prefix: string): BatchNorm {
    return {
      ...this.norm(prefix),
      mean: this.vector(`${prefix}.running_mean`),
      variance: this.vector(`${prefix}.running_var`),
    };
  }

  /** Every weight in canonical name and layout; the tensors stay owned by the store. */
  canonical(): Map<string, tf.Tensor> {
    if (this.disposed) throw new Error('the model has been disposed');
    if (this.options.trainable) {
      // values change while training: transpose afresh, caller owns the transposed copies
      const out = new Map<string, tf.Tensor>();
      for (const [name, h] of this.held) {
        out.set(name, h.linear ? tf.transpose(h.linear, [1, 0]) : h.conv ? tf.transpose(h.conv, [3, 2, 0, 1]) : tf.clone(h.canonical!));
      }
      return out;
    }
    if (!this.canonicalCache) {
      this.canonicalCache = new Map();
      for (const [name, h] of this.held) {
        this.canonicalCache.set(name, this.canonicalOf(h));
        h.keepCanonical = true;
      }
    }
    return new Map(this.canonicalCache);
  }

  private readonly owned: tf.Tensor[] = [];

  /** Takes a tensor derived from the weights (kept past tidy scopes, disposed with the store). */
  own<T extends tf.Tensor>(t: T): T {
    this.owned.push(tf.keep(t));
    return t;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.owned.splice(0));
    for (const h of this.held.values()) tf.dispose([h.canonical, h.linear, h.conv].filter((t): t is tf.Tensor => !!t));
    this.held.clear();
    this.canonicalCache = undefined;
  }
}
