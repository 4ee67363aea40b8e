/**
 * Building blocks shared by CLIP's towers: linear, LayerNorm, QuickGELU, multi-head attention and
 * the pre-LN residual attention block of OpenAI's `clip/model.py`, plus `WeightStore`, which holds
 * a model's weights in the layouts the forward pass wants.
 *
 * Speed on the wasm backend: a 2-D matMul with transposeA/transposeB, and any batched matMul,
 * leaves XNNPACK for a naive loop that runs 10-20x slower, so
 *   - linear weights are transposed once at load time to [in, out] and the forward product is a
 *     plain 2-D matMul; layers on a gradient path also keep the [out, in] original, and their
 *     custom gradient dx = dy @ W^T is a plain 2-D matMul too (tfjs's own would use transposeB);
 *   - attention, unavoidably batched, has a custom gradient that never asks for transposeA (the
 *     slowest order in the naive loop: 3x slower than the others);
 *   - LayerNorm and QuickGELU have custom gradients that save only their input, which halves the
 *     memory a text-tower backward pass holds (wasm memory stops at 4 GB).
 * Frozen weights (every use but training the model itself) take these custom gradients, which
 * give d/dx only. Trainable weights (a WeightStore made with `trainable: true`, tf.Variables) take
 * the plain autograd path instead, with runtime's matMul so that the products stay fast.
 *
 * Where runtime's native kernels run (wasm or cpu with the addon), a frozen residual block is one
 * op over token rows (`nativeBlock`): one q | k | v product, attention through strides, fused
 * LayerNorm and QuickGELU, residual adds inside the products; `rowsTransformer` runs blocks over
 * rows in which groups of sequences share their first tokens (see RowLayout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, nativeOp, nativeOpsActive, product } from '@dampl/runtime';

/** OpenAI CLIP's LayerNorm epsilon (torch's default). */
export const LN_EPS = 1e-5;
/** BatchNorm2d epsilon (torch's default). */
export const BN_EPS = 1e-5;

export interface Linear {
  /** [in, out]: the transpose of torch's nn.Linear weight. */
  w: tf.Tensor2D;
  /** [out, in], torch's layout; when present, the gradient w.r.t. the input uses it. */
  wt?: tf.Tensor2D;
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
  /**
   * q, k and v as three linears (frozen, differentiable blocks): three products give q, k and v
   * contiguous, where one product and a split copies strided columns (slow on wasm).
   */
  parts?: [Linear, Linear, Linear];
}

export interface ResidualBlock {
  ln1: Norm;
  attn: Attention;
  ln2: Norm;
  fc: Linear;
  proj: Linear;
}

type GradFunc = Parameters<typeof tf.customGrad>[0];

/** True for the tf.Variables of a model being trained (gradients with respect to weights wanted). */
export const isTrainable = (t: tf.Tensor): boolean => (t as tf.Variable).trainable === true;

/** x [M, in] @ w + b with d/dx = dy @ wt as a plain matMul; no tensor is saved for backward. */
function linear2d(x: tf.Tensor2D, p: Linear): tf.Tensor2D {
  const { w, wt, b } = p;
  if (isTrainable(w)) {
    const y = matMul(x, w);
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  }
  const forward = (input: tf.Tensor2D): tf.Tensor2D => {
    const y = tf.matMul(input, w) as tf.Tensor2D;
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  };
  if (!wt) return forward(x);
  const f = tf.customGrad(((input: tf.Tensor2D) => ({
    value: forward(input),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, wt),
  })) as GradFunc);
  return f(x) as tf.Tensor2D;
}

/** x @ w + b over the last axis, as one 2-D matMul: [..., in] -> [..., out]. */
export function linear<T extends tf.Tensor>(x: T, p: Linear): T {
  const shape = x.shape;
  if (shape.length === 2) return linear2d(x as unknown as tf.Tensor2D, p) as unknown as T;
  const y = linear2d(tf.reshape(x, [-1, shape[shape.length - 1]!]), p); // [M, out]
  return tf.reshape(y, [...shape.slice(0, -1), p.w.shape[1]]) as T;
}

/**
 * LayerNorm over the last axis with biased variance, as torch computes it. Its gradient saves
 * only x: with xhat = (x - mean) * r, r = 1 / sqrt(var + eps), g = dy * weight,
 * dx = r * (g - mean(g) - xhat * mean(g * xhat)).
 */
export function layerNorm<T extends tf.Tensor>(x: T, p: Norm, eps = LN_EPS): T {
  if (isTrainable(p.weight)) return tf.add(tf.mul(normalise(x, eps).xhat, p.weight), p.bias) as T;
  const f = tf.customGrad(((input: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([input]);
    return {
      value: tf.add(tf.mul(normalise(input, eps).xhat, p.weight), p.bias),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.tidy(() => layerNormBackward(saved!, dy, p, eps)),
    };
  }) as GradFunc);
  return f(x) as T;
}

/** LayerNorm's normalised input and 1/sqrt(var + eps) over the last axis. */
function normalise(x: tf.Tensor, eps = LN_EPS): { xhat: tf.Tensor; r: tf.Tensor } {
  const { mean, variance } = tf.moments(x, -1, true);
  const r = tf.rsqrt(tf.add(variance, eps));
  return { xhat: tf.mul(tf.sub(x, mean), r), r };
}

/** d/dx of LayerNorm(x) * weight + bias given dy (see layerNorm). */
function layerNormBackward(x: tf.Tensor, dy: tf.Tensor, p: Norm, eps = LN_EPS): tf.Tensor {
  const { xhat, r } = normalise(x, eps);
  const g = tf.mul(dy, p.weight);
  return tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))), r);
}

/** BatchNorm2d in eval mode (running statistics) over the channel axis of NHWC input. */
export function batchNorm(x: tf.Tensor4D, p: BatchNorm, eps = BN_EPS): tf.Tensor4D {
  return tf.batchNorm4d(x, p.mean, p.variance, p.bias, p.weight, eps);
}

/**
 * QuickGELU: x * sigmoid(1.702 x). Its gradient saves only x:
 * d/dx = s + 1.702 x s (1 - s), s = sigmoid(1.702 x).
 */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([input]);
    return {
      value: tf.mul(input, tf.sigmoid(tf.mul(input, 1.702))),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.tidy(() => {
        const s = tf.sigmoid(tf.mul(saved!, 1.702));
        const ds = tf.mul(tf.mul(saved!, 1.702), tf.mul(s, tf.sub(1, s)));
        return tf.mul(dy, tf.add(s, ds));
      }),
    };
  }) as GradFunc);
  return f(x) as T;
}

/** An additive [L, L] mask: 0 on and below the diagonal, -inf above (torch's triu_(1) of -inf). */
export function causalMask(length: number): tf.Tensor2D {
  const data = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) data[i * length + j] = -Infinity;
  const mask = tf.tensor2d(data, [length, length]);
  causalMasks.add(mask);
  return mask;
}

/** Masks made by causalMask: the fused softmax applies them without reading them. */
const causalMasks = new WeakSet<tf.Tensor>();

/**
 * softmax(q @ k^T + mask) @ v over a batch: q [B, Lq, D] (already scaled), k, v [B, Lk, D].
 * The gradient, with a = softmax(...) and do = dy:
 *   dv = a^T @ do, ds = a * (do @ v^T - rowsum(a * (do @ v^T))), dq = ds @ k, dk = ds^T @ q,
 * each a matMul whose transposed operands are transposed explicitly, never by transposeA.
 */
function attentionCore(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask?: tf.Tensor): tf.Tensor3D {
  const f = tf.customGrad(((qi: tf.Tensor3D, ki: tf.Tensor3D, vi: tf.Tensor3D, save: (t: tf.Tensor[]) => void) => {
    let scores: tf.Tensor3D = tf.matMul(qi, ki, false, true); // [B, Lq, Lk]
    if (mask) scores = tf.add(scores, mask);
    const att = tf.softmax(scores);
    save([qi, ki, vi, att]);
    return {
      value: tf.matMul(att, vi), // [B, Lq, D]
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, sa] = saved as tf.Tensor3D[];
        const dv = tf.matMul(tf.transpose(sa!, [0, 2, 1]), dy); // [B, Lk, D]
        const da = tf.matMul(dy, sv!, false, true); // [B, Lq, Lk]
        const ds = tf.mul(sa!, tf.sub(da, tf.sum(tf.mul(da, sa!), -1, true)));
        const dq = tf.matMul(ds, sk!); // [B, Lq, D]
        const dk = tf.matMul(tf.transpose(ds, [0, 2, 1]), sq!); // [B, Lk, D]
        return [dq, dk, dv];
      }),
    };
  }) as GradFunc);
  return f(q, k, v) as tf.Tensor3D;
}

/**
 * Scaled dot-product attention of q [N, Lq, W] against k, v [N, Lk, W] with `heads` heads and an
 * optional additive mask broadcast to [N, H, Lq, Lk]. Returns [N, Lq, W] before the out-projection.
 */
export function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, mask?: tf.Tensor): tf.Tensor3D {
  const [n, lq, w] = q.shape;
  const lk = k.shape[1];
  const d = w / heads;
  const split = (x: tf.Tensor3D, l: number) =>
    tf.reshape(tf.transpose(tf.reshape(x, [n, l, heads, d]), [0, 2, 1, 3]), [n * heads, l, d]) as tf.Tensor3D; // [N*H, L, D]
  const o = attentionCore(split(tf.mul(q, 1 / Math.sqrt(d)), lq), split(k, lk), split(v, lk), mask); // [N*H, Lq, D]
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
  if (frozenWithTransposes(p)) return frozenResidualBlock(x, p, mask);
  // frozen weights without the transposed copies (image towers): the fused forward when no
  // gradient is being recorded, the op-by-op graph otherwise
  if (p.attn.parts && !recordingGradients()) return tf.tidy(() => frozenForward(x, p, mask).y);
  return residualBlockOps(x, p, mask);
}

/** Whether a gradient tape is recording (inside tf.grad / variableGrads). */
const recordingGradients = (): boolean => ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 0) > 0;

/** The block as a composition of differentiable ops (used when its weights are trained). */
export function residualBlockOps(x: tf.Tensor3D, p: ResidualBlock, mask?: tf.Tensor): tf.Tensor3D {
  const h = tf.add(x, selfAttention(layerNorm(x, p.ln1), p.attn, mask)) as tf.Tensor3D;
  return tf.add(h, linear(quickGelu(linear(layerNorm(h, p.ln2), p.fc)), p.proj)) as tf.Tensor3D;
}

const frozenWithTransposes = (p: ResidualBlock): boolean =>
  !isTrainable(p.fc.w) && !!p.attn.qkv.wt && !!p.attn.parts?.[0].wt && !!p.attn.out.wt && !!p.fc.wt && !!p.proj.wt;

/**
 * Whether the native kernels run this block (wasm or cpu with the addon loaded, and a mask they
 * know: none, or a causal one from causalMask), and with which mask.
 */
function nativeMask(mask: tf.Tensor | undefined, length: number): { causal: boolean } | undefined {
  if (!nativeOpsActive()) return undefined;
  if (!mask) return { causal: false };
  return causalMasks.has(mask) && mask.shape[0] === length && mask.shape[1] === length ? { causal: true } : undefined;
}

/**
 * The frozen block's forward and backward on tfjs ops (webgpu, tensorflow, or wasm/cpu without
 * the addon). Saves x, the attention's q, k, v and weights, h and the c_fc output.
 */
const opsBlock = {
  forward(x: tf.Tensor3D, p: ResidualBlock, mask?: tf.Tensor) {
    const [n, l, w] = x.shape;
    const heads = p.attn.heads;
    const d = w / heads;
    const toHeads = (t: tf.Tensor2D) => tf.reshape(tf.transpose(tf.reshape(t, [n, l, heads, d]), [0, 2, 1, 3]), [n * heads, l, d]) as tf.Tensor3D;
    const dense = (t: tf.Tensor2D, q: Linear): tf.Tensor2D => (q.b ? tf.add(tf.matMul(t, q.w), q.b) : tf.matMul(t, q.w)) as tf.Tensor2D;
    const x2 = tf.reshape(x, [n * l, w]) as tf.Tensor2D;
    const a = tf.add(tf.mul(normalise(x2).xhat, p.ln1.weight), p.ln1.bias) as tf.Tensor2D;
    const [pq, pk, pv] = p.attn.parts!;
    const q = toHeads(tf.mul(dense(a, pq), 1 / Math.sqrt(d)) as tf.Tensor2D);
    const k = toHeads(dense(a, pk));
    const v = toHeads(dense(a, pv));
    const scores = product(q, k, false, true); // [N*H, L, L]
    const att = tf.softmax(mask ? tf.add(scores, mask) : scores) as tf.Tensor3D;
    const h = tf.add(x2, dense(fromHeads(tf.matMul(att, v) as tf.Tensor3D, n, l, w), p.attn.out)) as tf.Tensor2D;
    const fc = dense(tf.add(tf.mul(normalise(h).xhat, p.ln2.weight), p.ln2.bias) as tf.Tensor2D, p.fc);
    const y = tf.reshape(tf.add(h, dense(tf.mul(fc, tf.sigmoid(tf.mul(fc, 1.702))) as tf.Tensor2D, p.proj)), [n, l, w]) as tf.Tensor3D;
    return { y, saved: [x2, q, k, v, att, h, fc] };
  },

  backward(dy: tf.Tensor3D, saved: tf.Tensor[], p: ResidualBlock): tf.Tensor3D {
    const [n, l, w] = dy.shape;
    const [sx, sq, sk, sv, sa, sh, sf] = saved as [tf.Tensor2D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor2D];
    const heads = p.attn.heads;
    const d = w / heads;
    const [pq, pk, pv] = p.attn.parts!;
    const dy2 = tf.reshape(dy, [n * l, w]) as tf.Tensor2D;
    // MLP: dh = dy + ln_2'(h, (gelu'(f) * dy Wproj^T) Wfc^T)
    const s = tf.sigmoid(tf.mul(sf, 1.702));
    const df = tf.mul(tf.matMul(dy2, p.proj.wt!), tf.add(s, tf.mul(tf.mul(sf, 1.702), tf.mul(s, tf.sub(1, s)))));
    const dh = tf.add(dy2, layerNormBackward(sh, tf.matMul(df as tf.Tensor2D, p.fc.wt!), p.ln2)) as tf.Tensor2D;
    // attention, with do = dh Wout^T in heads
    const dO = tf.reshape(tf.transpose(tf.reshape(tf.matMul(dh, p.attn.out.wt!), [n, l, heads, d]), [0, 2, 1, 3]), [n * heads, l, d]) as tf.Tensor3D;
    const dv = product(sa, dO, true, false);
    const da = product(dO, sv, false, true);
    const ds = tf.mul(sa, tf.sub(da, tf.sum(tf.mul(da, sa), -1, true))) as tf.Tensor3D;
    const dq = tf.mul(tf.matMul(ds, sk), 1 / Math.sqrt(d)) as tf.Tensor3D;
    const dk = product(ds, sq, true, false);
    const dln1 = tf.addN([tf.matMul(fromHeads(dq, n, l, w), pq.wt!), tf.matMul(fromHeads(dk, n, l, w), pk.wt!), tf.matMul(fromHeads(dv, n, l, w), pv.wt!)]);
    return tf.reshape(tf.add(dh, layerNormBackward(sx, dln1, p.ln1)), [n, l, w]);
  },
};

/** [N*H, L, D] per head back to [N*L, W] tokens. */
const fromHeads = (t: tf.Tensor3D, n: number, l: number, w: number): tf.Tensor2D =>
  tf.reshape(tf.transpose(tf.reshape(t, [n, w / t.shape[2], l, t.shape[2]]), [0, 2, 1, 3]), [n * l, w]) as tf.Tensor2D;

/**
 * How the rows of a token matrix form sequences for the native attention kernel: `groups` shared
 * prefixes of `prefix` rows (all prefixes first), then groups * branches branches of `branch` rows
 * that each attend to their group's prefix and to themselves. Branch j belongs to group
 * j % groups when `branchMajor`, to j / branches otherwise. A plain batch of n sequences of l
 * tokens is { groups: n, prefix: 0, branches: 1, branch: l }.
 */
export interface RowLayout {
  groups: number;
  prefix: number;
  branches: number;
  branch: number;
  branchMajor: boolean;
  causal: boolean;
}

const rowCount = (t: RowLayout): number => t.groups * (t.prefix + t.branches * t.branch);

/**
 * The frozen block on the native kernels (runtime native.ts), on token rows [T, W]: q | k | v
 * from one product, attention read and written through strides (no per-head copies, weights
 * recomputed in the backward pass rather than kept), residual adds folded into the products.
 * Saves x, q | k | v, h and the c_fc output: 9 W floats per token.
 */
const nativeBlock = {
  forward(x2: tf.Tensor2D, p: ResidualBlock, t: RowLayout) {
    const [tokens, w] = x2.shape;
    const dense = (x: tf.Tensor2D, q: Linear, residual: tf.Tensor2D | null = null): tf.Tensor2D =>
      nativeOp('dense', [x, q.w, q.b ?? null, residual], [x.shape[0], q.w.shape[1]], [x.shape[0], q.w.shape[1], x.shape[1]]) as tf.Tensor2D;
    const ln = (x: tf.Tensor2D, q: Norm) => nativeOp('layerNorm', [x, q.weight, q.bias], x.shape, [tokens, w, LN_EPS]) as tf.Tensor2D;
    const qkv = dense(ln(x2, p.ln1), p.attn.qkv); // [T, 3W]
    const o = nativeOp('attention', [qkv], [tokens, w], attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    const h = dense(o, p.attn.out, x2);
    const fc = dense(ln(h, p.ln2), p.fc);
    const y = dense(nativeOp('quickGelu', [fc], fc.shape, [fc.size]) as tf.Tensor2D, p.proj, h);
    return { y, saved: [x2, qkv, h, fc] };
  },

  backward(dy2: tf.Tensor2D, saved: tf.Tensor[], p: ResidualBlock, t: RowLayout): tf.Tensor2D {
    const [tokens, w] = dy2.shape;
    const [sx, sqkv, sh, sf] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const lnGrad = (x: tf.Tensor2D, g: tf.Tensor2D, q: Norm, base: tf.Tensor2D) =>
      nativeOp('layerNormGrad', [x, g, q.weight, base], x.shape, [tokens, w, LN_EPS]) as tf.Tensor2D;
    const df = nativeOp('quickGeluGrad', [sf, tf.matMul(dy2, p.proj.wt!)], sf.shape, [sf.size]) as tf.Tensor2D;
    const dh = lnGrad(sh, tf.matMul(df, p.fc.wt!), p.ln2, dy2);
    const dqkv = nativeOp('attentionGrad', [sqkv, tf.matMul(dh, p.attn.out.wt!)], sqkv.shape, attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    return lnGrad(sx, tf.matMul(dqkv, p.attn.qkv.wt!), p.ln1, dh);
  },
};

function attentionNumbers(t: RowLayout, heads: number, w: number): (number | boolean)[] {
  const d = w / heads;
  return [t.groups, t.prefix, t.branches, t.branch, t.branchMajor, heads, d, t.causal, 1 / Math.sqrt(d)];
}

const plainLayout = (n: number, l: number, causal: boolean): RowLayout => ({ groups: n, prefix: 0, branches: 1, branch: l, branchMajor: false, causal });

/** The block's forward with frozen weights, on the native kernels where they run. */
function frozenForward(x: tf.Tensor3D, p: ResidualBlock, mask?: tf.Tensor): { y: tf.Tensor3D } {
  const [n, l, w] = x.shape;
  const native = nativeMask(mask, l);
  if (!native) return opsBlock.forward(x, p, mask);
  return { y: tf.reshape(nativeBlock.forward(tf.reshape(x, [n * l, w]), p, plainLayout(n, l, native.causal)).y, [n, l, w]) };
}

/** The frozen block over token rows [T, W] laid out as `t`, as one op with a hand-written d/dx. */
function frozenRowsBlock(x2: tf.Tensor2D, p: ResidualBlock, t: RowLayout): tf.Tensor2D {
  const f = tf.customGrad(((input: tf.Tensor2D, save: (s: tf.Tensor[]) => void) => {
    const r = nativeBlock.forward(input, p, t);
    save(r.saved);
    return { value: r.y, gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.tidy(() => nativeBlock.backward(dy, saved, p, t)) };
  }) as GradFunc);
  return f(x2) as tf.Tensor2D;
}

/**
 * Whether `rowsTransformer` can run these blocks here: frozen weights kept in both layouts and
 * the native kernels active.
 */
export function rowsTransformerAvailable(blocks: ResidualBlock[]): boolean {
  return nativeOpsActive() && blocks.every(frozenWithTransposes);
}

/**
 * A stack of frozen blocks over token rows [T, W] in layout `t` (prefix-sharing sequences, see
 * RowLayout): the same values, row for row, as running every branch with its prefix in front
 * through `transformer`, with the prefix rows computed once per group. Native kernels only
 * (`rowsTransformerAvailable`).
 */
export function rowsTransformer(x2: tf.Tensor2D, blocks: ResidualBlock[], t: RowLayout): tf.Tensor2D {
  if (!rowsTransformerAvailable(blocks)) throw new Error('rowsTransformer needs frozen blocks and the native kernels (see rowsTransformerAvailable)');
  if (x2.shape[0] !== rowCount(t)) throw new Error(`rowsTransformer: ${x2.shape[0]} rows for a layout of ${rowCount(t)}`);
  if (t.prefix && !t.causal) throw new Error('rowsTransformer: a shared prefix needs causal attention');
  return stack(x2, blocks, (h, block) => frozenRowsBlock(h, block, t));
}

/** Applies the blocks in turn; each block's intermediates are released as it finishes. */
function stack<T extends tf.Tensor>(x: T, blocks: ResidualBlock[], apply: (h: T, block: ResidualBlock) => T): T {
  let h = x;
  for (const block of blocks) {
    const prev = h;
    h = tf.tidy(() => apply(prev, block));
    if (prev !== x) prev.dispose();
  }
  return h;
}

/**
 * The residual block with frozen weights as one differentiable op whose gradient (with respect to
 * x only) is written out by hand. It computes the same values as `residualBlockOps`, but keeps
 * only a few tensors per block for the backward pass (9 W floats per token on the native kernels,
 * 9.5 W + heads * L on tfjs ops) where the op-by-op graph keeps every reshape's and add's inputs
 * alive on the tape (about 4x more), which is what limits the prompts per step on wasm.
 *
 * Forward, for tokens x [T, W] (T = N * L):
 *   a = ln_1(x); [q | k | v] = a Wqkv + bqkv; o = attention(q / sqrt(d), k, v); h = x + o Wout + bout
 *   f = ln_2(h) Wfc + bfc; y = h + quickGelu(f) Wproj + bproj
 * Backward, given dy:
 *   df = (dy Wproj^T) * gelu'(f); dh = dy + ln_2'(h, df Wfc^T)
 *   [dq | dk | dv] from attention's gradient with do = dh Wout^T (dq scaled by 1/sqrt(d)):
 *     dv = A^T do, dS = A * (do v^T - rowsum(A * do v^T)), dq = dS k, dk = dS^T q
 *   dx = dh + ln_1'(x, [dq | dk | dv] Wqkv^T)
 */
function frozenResidualBlock(x: tf.Tensor3D, p: ResidualBlock, mask?: tf.Tensor): tf.Tensor3D {
  const [n, l, w] = x.shape;
  const native = nativeMask(mask, l);
  if (native) return tf.reshape(frozenRowsBlock(tf.reshape(x, [n * l, w]), p, plainLayout(n, l, native.causal)), [n, l, w]);
  const f = tf.customGrad(((input: tf.Tensor3D, save: (t: tf.Tensor[]) => void) => {
    const r = opsBlock.forward(input, p, mask);
    save(r.saved);
    return { value: r.y, gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => tf.tidy(() => opsBlock.backward(dy, saved, p)) };
  }) as GradFunc);
  return f(x) as tf.Tensor3D;
}

/** A stack of residual blocks; each block's intermediates are released as it finishes. */
export function transformer(x: tf.Tensor3D, blocks: ResidualBlock[], mask?: tf.Tensor): tf.Tensor3D {
  return stack(x, blocks, (h, block) => residualBlock(h, block, mask));
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

/**
 * The parameters of one residual block taken from a store; `differentiable` keeps the [out, in]
 * linear weights too, for fast gradients with respect to the block's input.
 */
export function residualBlockParams(s: WeightStore, prefix: string, heads: number, differentiable = false): ResidualBlock {
  const qkv: Linear = { ...s.linearWeights(`${prefix}.attn.in_proj_weight`, differentiable), b: s.vector(`${prefix}.attn.in_proj_bias`) };
  let parts: [Linear, Linear, Linear] | undefined;
  if (!isTrainable(qkv.w)) {
    const w = qkv.w.shape[0];
    parts = [0, 1, 2].map((i) => ({
      w: s.own(tf.slice(qkv.w, [0, i * w], [w, w])),
      wt: qkv.wt ? s.own(tf.slice(qkv.wt, [i * w, 0], [w, w])) : undefined,
      b: qkv.b ? s.own(tf.slice(qkv.b, [i * w], [w])) : undefined,
    })) as [Linear, Linear, Linear];
  }
  return {
    ln1: s.norm(`${prefix}.ln_1`),
    attn: { qkv, out: s.linear(`${prefix}.attn.out_proj`, differentiable), heads, parts },
    ln2: s.norm(`${prefix}.ln_2`),
    fc: s.linear(`${prefix}.mlp.c_fc`, differentiable),
    proj: s.linear(`${prefix}.mlp.c_proj`, differentiable),
  };
}

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
