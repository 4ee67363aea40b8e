/**
 * Multi-head attention on tfjs ops, as torch's nn.MultiheadAttention computes it, with a custom
 * gradient that never asks for transposeA (on wasm the slowest order of the naive batched loop:
 * 3x slower than the others), and CLIP's causal mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import { linear, type GradFunc, type Linear } from './layers.js';

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

/** Whether `mask` was made by causalMask. */
export const isCausalMask = (mask: tf.Tensor): boolean => causalMasks.has(mask);

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
