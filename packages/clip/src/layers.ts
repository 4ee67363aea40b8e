/**
 * Building blocks shared by CLIP's towers: linear, LayerNorm, QuickGELU, multi-head attention and
 * the pre-LN residual attention block of OpenAI's `clip/model.py`, plus `WeightStore`, which holds
 * a model's weights in the layouts the forward pass wants.
 *
 * Speed on the wasm backend: a matMul with transposeA/transposeB runs many times slower than a
 * plain one, so linear weights are transposed once at load time to [in, out] and every product
 * here is an untransposed matMul; operands that need another order are transposed explicitly.
 */
import * as tf from '@tensorflow/tfjs-core';

/** OpenAI CLIP's LayerNorm epsilon (torch's default). */
export const LN_EPS = 1e-5;
/** BatchNorm2d epsilon (torch's default). */
export const BN_EPS = 1e-5;

export interface Linear {
  /** [in, out]: the transpose of torch's nn.Linear weight. */
  w: tf.Tensor2D;
  b?: tf.Tensor1D;
}

export interface Norm {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export interface BatchNorm extends Norm {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Fused in-projection and out-projection of torch's nn.MultiheadAttention. */
export interface Attention {
  /** [W, 3W] = in_proj_weight^T; columns q | k | v. */
  qkv: Linear;
  out: Linear;
  heads: number;
}

export interface ResidualBlock {
  ln1: Norm;
  attn: Attention;
  ln2: Norm;
  fc: Linear;
  proj: Linear;
}

/** x @ w + b over the last axis, as one 2-D matMul: [..., in] -> [..., out]. */
export function linear<T extends tf.Tensor>(x: T, p: Linear): T {
  const shape = x.shape;
  const inDim = shape[shape.length - 1]!;
  const x2 = shape.length === 2 ? (x as unknown as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(x2, p.w); // [M, out]
  if (p.b) y = tf.add(y, p.b);
  return (shape.length === 2 ? y : tf.reshape(y, [...shape.slice(0, -1), p.w.shape[1]])) as T;
}

/** LayerNorm over the last axis with biased variance, as torch computes it. */
export function layerNorm<T extends tf.Tensor>(x: T, p: Norm, eps = LN_EPS): T {
  const { mean, variance } = tf.moments(x, -1, true);
  const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(xhat, p.weight), p.bias) as T;
}

/** BatchNorm2d in eval mode (running statistics) over the channel axis of NHWC input. */
export function batchNorm(x: tf.Tensor4D, p: BatchNorm, eps = BN_EPS): tf.Tensor4D {
  return tf.batchNorm4d(x, p.mean, p.variance, p.bias, p.weight, eps);
}

/** QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))) as T;
}

/** An additive [L, L] mask: 0 on and below the diagonal, -inf above (torch's triu_(1) of -inf). */
export function causalMask(length: number): tf.Tensor2D {
  const data = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) data[i * length + j] = -Infinity;
  return tf.tensor2d(data, [length, length]);
}

/**
 * Scaled dot-product attention of q [N, Lq, W] against k, v [N, Lk, W] with `heads` heads and an
 * optional additive mask broadcast to [N, H, Lq, Lk]. Returns [N, Lq, W] before the out-projection.
 */
export function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, mask?: tf.Tensor): tf.Tensor3D {
  const [n, lq, w] = q.shape;
  const lk = k.shape[1];
  const d = w / heads;
  const qh = tf.transpose(tf.reshape(tf.mul(q, 1 / Math.sqrt(d)), [n, lq, heads, d]), [0, 2, 1, 3]); // [N, H, Lq, D]
  const kt = tf.transpose(tf.reshape(k, [n, lk, heads, d]), [0, 2, 3, 1]); // [N, H, D, Lk]
  const vh = tf.transpose(tf.reshape(v, [n, lk, heads, d]), [0, 2, 1, 3]); // [N, H, Lk, D]
  let scores: tf.Tensor = tf.matMul(
    tf.reshape(qh, [n * heads, lq, d]), tf.reshape(kt, [n * heads, d, lk]),
  ); // [N*H, Lq, Lk]
  if (mask) scores = tf.add(scores, mask);
  const att = tf.softmax(scores);
  const o = tf.matMul(att, tf.reshape(vh, [n * heads, lk, d])); // [N*H, Lq, D]
  return tf.reshape(tf.transpose(tf.reshape(o, [n, heads, lq, d]), [0, 2, 1, 3]), [n, lq, w]); // [N, Lq, W]
}

/** torch's nn.MultiheadAttention(x, x, x) with a fused in-projection: [N, L, W] -> [N, L, W]. */
export function selfAttention(x: tf.Tensor3D, p: Attention, mask?: tf.Tensor): tf.Tensor3D {
  const w = x.shape[2];
  const qkv = linear(x, p.qkv); // [N, L, 3W]
  const [q, k, v] = tf.split(qkv, [w, w, w], 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  return linear(attend(q, k, v, p.heads, mask), p.out);
}

/** x + attn(ln_1(x)), then x + mlp(ln_2(x)); the MLP is c_fc, QuickGELU, c_proj. */
export function residualBlock(x: tf.Tensor3D, p: ResidualBlock, mask?: tf.Tensor): tf.Tensor3D {
  const h = tf.add(x, selfAttention(layerNorm(x, p.ln1), p.attn, mask)) as tf.Tensor3D;
  return tf.add(h, linear(quickGelu(linear(layerNorm(h, p.ln2), p.fc)), p.proj)) as tf.Tensor3D;
}

/** A stack of residual blocks; each block's intermediates are released as it finishes. */
export function transformer(x: tf.Tensor3D, blocks: ResidualBlock[], mask?: tf.Tensor): tf.Tensor3D {
  let h = x;
  for (const block of blocks) {
    const prev = h;
    h = tf.tidy(() => residualBlock(prev, block, mask));
    if (prev !== x) prev.dispose();
  }
  return h;
}

/** Parameter shapes of one residual block of width `w`, by canonical name under `prefix`. */
export function residualBlockShapes(prefix: string, w: number): [string, number[]][] {
  return [
    [`${prefix}.attn.in_proj_weight`, [3 * w, w]],
    [`${prefix}.attn.in_proj_bias`, [3 * w]],
    [`${prefix}.attn.out_proj.weight`, [w, w]],
    [`${prefix}.attn.out_proj.bias`, [w]],
    [`${prefix}.ln_1.weight`, [w]],
    [`${prefix}.ln_1.bias`, [w]],
    [`${prefix}.mlp.c_fc.weight`, [4 * w, w]],
    [`${prefix}.mlp.c_fc.bias`, [4 * w]],
    [`${prefix}.mlp.c_proj.weight`, [w, 4 * w]],
    [`${prefix}.mlp.c_proj.bias`, [w]],
    [`${prefix}.ln_2.weight`, [w]],
    [`${prefix}.ln_2.bias`, [w]],
  ];
}

/** The parameters of one residual block taken from a store. */
export function residualBlockParams(s: WeightStore, prefix: string, heads: number): ResidualBlock {
  return {
    ln1: s.norm(`${prefix}.ln_1`),
    attn: {
      qkv: { w: s.linearWeight(`${prefix}.attn.in_proj_weight`), b: s.vector(`${prefix}.attn.in_proj_bias`) },
      out: s.linear(`${prefix}.attn.out_proj`),
      heads,
    },
    ln2: s.norm(`${prefix}.ln_2`),
    fc: s.linear(`${prefix}.mlp.c_fc`),
    proj: s.linear(`${prefix}.mlp.c_proj`),
  };
}

type Layout = 'as-is' | 'linear' | 'conv';

/**
 * Owns a model's weight tensors, keyed by canonical (OpenAI) name. Towers take their parameters
 * from it; linear weights are turned into [in, out] and conv kernels into [kh, kw, in, out] once,
 * on first use, and the canonical-layout original is released. `canonical()` gives the tensors back
 * in canonical layout (re-materialising the transposed ones once, on demand).
 */
export class WeightStore {
  private readonly held = new Map<string, { t: tf.Tensor; layout: Layout }>();
  private canonicalCache: Map<string, tf.Tensor> | undefined;
  private disposed = false;

  /** Takes ownership of `tensors`, which must be in canonical layout. */
  constructor(tensors: Map<string, tf.Tensor>) {
    for (const [name, t] of tensors) this.held.set(name, { t, layout: 'as-is' });
  }

  has(name: string): boolean {
    return this.held.has(name);
  }

  get names(): string[] {
    return [...this.held.keys()];
  }

  private take(name: string, layout: Layout): tf.Tensor {
    if (this.disposed) throw new Error('the model has been disposed');
    const h = this.held.get(name);
    if (!h) throw new Error(`weight '${name}' is not loaded`);
    if (h.layout === layout) return h.t;
    if (h.layout !== 'as-is') throw new Error(`weight '${name}' is already held as ${h.layout}, not ${layout}`);
    const t = tf.keep(layout === 'linear' ? tf.transpose(h.t, [1, 0]) : tf.transpose(h.t, [2, 3, 1, 0]));
    h.t.dispose();
    this.held.set(name, { t, layout });
    return t;
  }

  tensor(name: string): tf.Tensor {
    return this.take(name, 'as-is');
  }

  vector(name: string): tf.Tensor1D {
    return this.take(name, 'as-is') as tf.Tensor1D;
  }

  matrix(name: string): tf.Tensor2D {
    return this.take(name, 'as-is') as tf.Tensor2D;
  }

  /** torch nn.Linear weight [out, in], held as [in, out]. */
  linearWeight(name: string): tf.Tensor2D {
    return this.take(name, 'linear') as tf.Tensor2D;
  }

  linear(prefix: string, bias = true): Linear {
    return { w: this.linearWeight(`${prefix}.weight`), b: bias ? this.vector(`${prefix}.bias`) : undefined };
  }

  /** torch Conv2d weight [out, in, kh, kw], held as tf's [kh, kw, in, out]. */
  conv(name: string): tf.Tensor4D {
    return this.take(name, 'conv') as tf.Tensor4D;
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

  /** Every weight in canonical name and layout; tensors stay owned by the store. */
  canonical(): Map<string, tf.Tensor> {
    if (this.disposed) throw new Error('the model has been disposed');
    if (!this.canonicalCache) {
      const out = new Map<string, tf.Tensor>();
      for (const [name, { t, layout }] of this.held) {
        out.set(name, layout === 'as-is' ? t : tf.keep(layout === 'linear' ? tf.transpose(t, [1, 0]) : tf.transpose(t, [3, 2, 0, 1])));
      }
      this.canonicalCache = out;
    }
    return new Map(this.canonicalCache);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const all = new Set<tf.Tensor>();
    for (const { t } of this.held.values()) all.add(t);
    for (const t of this.canonicalCache?.values() ?? []) all.add(t);
    for (const t of all) t.dispose();
    this.held.clear();
    this.canonicalCache = undefined;
  }
}
