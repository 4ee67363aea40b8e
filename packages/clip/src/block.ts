/**
 * The pre-LN residual attention block of OpenAI's `clip/model.py` and the transformer, a stack of
 * them: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
 *
 * A frozen block (every use but training the model itself) is one op with a hand-written d/dx.
 * Where runtime's native kernels run (wasm or cpu with the addon), it is one op over token rows
 * (`nativeBlock`): one q | k | v product, attention through strides, fused LayerNorm and
 * QuickGELU, residual adds inside the products; `rowsTransformer` runs blocks over rows in which
 * groups of sequences share their first tokens (see RowLayout). Elsewhere (webgpu, tensorflow)
 * `opsBlock` runs the same on tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulTransposed, nativeOp, nativeOpsActive } from '@dampl/runtime';
import { isCausalMask, selfAttention, type Attention } from './attention.js';
import { isTrainable, layerNorm, layerNormBackward, linear, LN_EPS, normalise, quickGelu, type GradFunc, type Linear, type Norm } from './layers.js';
import type { WeightStore } from './weight-store.js';

export interface ResidualBlock {
  ln1: Norm;
  attn: Attention;
  ln2: Norm;
  fc: Linear;
  proj: Linear;
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
  return isCausalMask(mask) && mask.shape[0] === length && mask.shape[1] === length ? { causal: true } : undefined;
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
    const scores = matMulTransposed(q, k, false, true); // [N*H, L, L]
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
    const dv = matMulTransposed(sa, dO, true, false);
    const da = matMulTransposed(dO, sv, false, true);
    const ds = tf.mul(sa, tf.sub(da, tf.sum(tf.mul(da, sa), -1, true))) as tf.Tensor3D;
    const dq = tf.mul(tf.matMul(ds, sk), 1 / Math.sqrt(d)) as tf.Tensor3D;
    const dk = matMulTransposed(ds, sq, true, false);
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
    const qkv = nativeDense(nativeLayerNorm(x2, p.ln1), p.attn.qkv); // [T, 3W]
    const o = nativeOp('attention', [qkv], [tokens, w], attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    const h = nativeDense(o, p.attn.out, x2);
    const fc = nativeDense(nativeLayerNorm(h, p.ln2), p.fc);
    const y = nativeDense(nativeOp('quickGelu', [fc], fc.shape, [fc.size]) as tf.Tensor2D, p.proj, h);
    return { y, saved: [x2, qkv, h, fc] };
  },

  backward(dy2: tf.Tensor2D, saved: tf.Tensor[], p: ResidualBlock, t: RowLayout): tf.Tensor2D {
    const w = dy2.shape[1];
    const [sx, sqkv, sh, sf] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const df = nativeOp('quickGeluGrad', [sf, tf.matMul(dy2, p.proj.wt!)], sf.shape, [sf.size]) as tf.Tensor2D;
    const dh = nativeLayerNormGrad(sh, tf.matMul(df, p.fc.wt!), p.ln2, dy2);
    const dqkv = nativeOp('attentionGrad', [sqkv, tf.matMul(dh, p.attn.out.wt!)], sqkv.shape, attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    return nativeLayerNormGrad(sx, tf.matMul(dqkv, p.attn.qkv.wt!), p.ln1, dh);
  },
};

/**
 * The last frozen block when only some rows' outputs are read (the EOT row of each prompt): q | k
 * | v and attention for every row, since the kept rows attend to all of them, then c_proj of the
 * attention, the MLP and their gradients for the kept rows only. The same values as `nativeBlock`
 * on those rows; the other rows' outputs, 9 W^2 multiply-adds of the block's 12 W^2 per row, are
 * never computed.
 */
const nativeKeptBlock = {
  forward(x2: tf.Tensor2D, p: ResidualBlock, t: RowLayout, keep: tf.Tensor1D) {
    const [tokens, w] = x2.shape;
    const qkv = nativeDense(nativeLayerNorm(x2, p.ln1), p.attn.qkv); // [T, 3W]
    const o = nativeOp('attention', [qkv], [tokens, w], attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    const h = nativeDense(tf.gather(o, keep), p.attn.out, tf.gather(x2, keep)); // [K, W]
    const fc = nativeDense(nativeLayerNorm(h, p.ln2), p.fc);
    const y = nativeDense(nativeOp('quickGelu', [fc], fc.shape, [fc.size]) as tf.Tensor2D, p.proj, h);
    return { y, saved: [x2, qkv, h, fc] };
  },

  backward(dy2: tf.Tensor2D, saved: tf.Tensor[], p: ResidualBlock, t: RowLayout, keep: tf.Tensor1D): tf.Tensor2D {
    const [sx, sqkv, sh, sf] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [tokens, w] = sx.shape;
    const rows = tf.reshape(keep, [keep.shape[0], 1]);
    const spread = (k: tf.Tensor2D) => tf.scatterND(rows, k, [tokens, w]) as tf.Tensor2D; // [K, W] into [T, W], zero elsewhere
    const df = nativeOp('quickGeluGrad', [sf, tf.matMul(dy2, p.proj.wt!)], sf.shape, [sf.size]) as tf.Tensor2D;
    const dh = nativeLayerNormGrad(sh, tf.matMul(df, p.fc.wt!), p.ln2, dy2); // [K, W]
    const dqkv = nativeOp('attentionGrad', [sqkv, spread(tf.matMul(dh, p.attn.out.wt!))], sqkv.shape, attentionNumbers(t, p.attn.heads, w)) as tf.Tensor2D;
    return nativeLayerNormGrad(sx, tf.matMul(dqkv, p.attn.qkv.wt!), p.ln1, spread(dh));
  },
};

const nativeDense = (x: tf.Tensor2D, q: Linear, residual: tf.Tensor2D | null = null): tf.Tensor2D =>
  nativeOp('dense', [x, q.w, q.b ?? null, residual], [x.shape[0], q.w.shape[1]], [x.shape[0], q.w.shape[1], x.shape[1]]) as tf.Tensor2D;
const nativeLayerNorm = (x: tf.Tensor2D, q: Norm): tf.Tensor2D => nativeOp('layerNorm', [x, q.weight, q.bias], x.shape, [x.shape[0], x.shape[1], LN_EPS]) as tf.Tensor2D;
const nativeLayerNormGrad = (x: tf.Tensor2D, g: tf.Tensor2D, q: Norm, base: tf.Tensor2D): tf.Tensor2D =>
  nativeOp('layerNormGrad', [x, g, q.weight, base], x.shape, [x.shape[0], x.shape[1], LN_EPS]) as tf.Tensor2D;

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

/** The last block over token rows with only the rows `keep` [K] read: [T, W] -> [K, W]. */
function frozenKeptBlock(x2: tf.Tensor2D, p: ResidualBlock, t: RowLayout, keep: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad(((input: tf.Tensor2D, save: (s: tf.Tensor[]) => void) => {
    const r = nativeKeptBlock.forward(input, p, t, keep);
    save([...r.saved, keep]); // the caller's `keep` may be freed before the backward pass
    return { value: r.y, gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.tidy(() => nativeKeptBlock.backward(dy, saved.slice(0, -1), p, t, saved.at(-1) as tf.Tensor1D)) };
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
 * through `transformer`, with the prefix rows computed once per group. With `keep` (row indices,
 * int32 [K]) only those rows of the output are made, [K, W]: the last block computes its
 * attention output and MLP for them alone. Native kernels only (`rowsTransformerAvailable`).
 */
export function rowsTransformer(x2: tf.Tensor2D, blocks: ResidualBlock[], t: RowLayout, keep?: tf.Tensor1D): tf.Tensor2D {
  if (!rowsTransformerAvailable(blocks)) throw new Error('rowsTransformer needs frozen blocks and the native kernels (see rowsTransformerAvailable)');
  if (x2.shape[0] !== rowCount(t)) throw new Error(`rowsTransformer: ${x2.shape[0]} rows for a layout of ${rowCount(t)}`);
  if (t.prefix && !t.causal) throw new Error('rowsTransformer: a shared prefix needs causal attention');
  if (!keep || !blocks.length) return stack(x2, blocks, (h, block) => frozenRowsBlock(h, block, t));
  const body = stack(x2, blocks.slice(0, -1), (h, block) => frozenRowsBlock(h, block, t));
  const out = tf.tidy(() => frozenKeptBlock(body, blocks.at(-1)!, t, keep));
  if (body !== x2) body.dispose();
  return out;
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

/**
 * The stack of blocks when only each sequence's first token is read (the ViT's class token):
 * [N, L, W] -> [N, W]. Where the fused forward runs (frozen weights, no gradient recorded, the
 * native kernels), the last block computes its attention output and MLP for those rows alone.
 */
export function transformerFirstToken(x: tf.Tensor3D, blocks: ResidualBlock[], mask?: tf.Tensor): tf.Tensor2D {
  const [n, l, w] = x.shape;
  const last = blocks.at(-1);
  const native = last && !isTrainable(last.fc.w) && last.attn.parts && !recordingGradients() ? nativeMask(mask, l) : undefined;
  if (!last || !native) return tf.tidy(() => tf.reshape(tf.slice(transformer(x, blocks, mask), [0, 0, 0], [n, 1, w]), [n, w]));
  const body = stack(x, blocks.slice(0, -1), (h, block) => residualBlock(h, block, mask));
  const y = tf.tidy(() => nativeKeptBlock.forward(tf.reshape(body, [n * l, w]), last, plainLayout(n, l, native.causal), tf.range(0, n * l, l, 'int32') as tf.Tensor1D).y);
  if (body !== x) body.dispose();
  return y;
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
