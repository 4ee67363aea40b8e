/**
 * OpenAI CLIP's VisionTransformer (clip/model.py): a patch-embedding convolution without bias,
 * a class token, learned positional embeddings, ln_pre, pre-LN residual attention blocks with
 * QuickGELU MLPs and no mask, then ln_post on the class token and a projection to the joint space.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, nativeKernelsActive, nativeOp, nativeOpsActive } from '@dampl/runtime';
import type { ClipConfig } from './types.js';
import { isTrainable, layerNorm, type Norm } from './layers.js';
import { residualBlockParams, residualBlockShapes, transformerFirstToken, type ResidualBlock } from './block.js';
import { type WeightStore } from './weight-store.js';

export interface VitConfig {
  /** Input resolution R: images are [N, 3, R, R]. */
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  /** Joint embedding size E. */
  outputDim: number;
}

export function vitConfig(c: ClipConfig): VitConfig {
  const v = c.vision;
  if (v.kind !== 'vit' || typeof v.layers !== 'number' || !v.patchSize) throw new Error('not a ViT vision config');
  return { imageSize: v.imageSize, patchSize: v.patchSize, width: v.width, layers: v.layers, heads: v.heads, outputDim: c.embedDim };
}

/** Canonical parameter names and shapes (OpenAI's state dict under `prefix`). */
export function vitWeightShapes(c: VitConfig, prefix = 'visual'): [string, number[]][] {
  const w = c.width;
  const grid = c.imageSize / c.patchSize;
  const out: [string, number[]][] = [
    [`${prefix}.conv1.weight`, [w, 3, c.patchSize, c.patchSize]],
    [`${prefix}.class_embedding`, [w]],
    [`${prefix}.positional_embedding`, [grid * grid + 1, w]],
    [`${prefix}.ln_pre.weight`, [w]],
    [`${prefix}.ln_pre.bias`, [w]],
  ];
  for (let i = 0; i < c.layers; i++) out.push(...residualBlockShapes(`${prefix}.transformer.resblocks.${i}`, w));
  out.push([`${prefix}.ln_post.weight`, [w]], [`${prefix}.ln_post.bias`, [w]], [`${prefix}.proj`, [w, c.outputDim]]);
  return out;
}

export class VisionTransformer {
  private readonly patch: tf.Tensor4D; // [P, P, 3, W]
  private readonly cls: tf.Tensor1D; // [W]
  private readonly pos: tf.Tensor2D; // [G*G + 1, W]
  private readonly lnPre: Norm;
  private readonly blocks: ResidualBlock[];
  private readonly lnPost: Norm;
  private readonly proj: tf.Tensor2D; // [W, E]

  constructor(readonly config: VitConfig, s: WeightStore, prefix = 'visual') {
    this.patch = s.conv(`${prefix}.conv1.weight`);
    this.cls = s.vector(`${prefix}.class_embedding`);
    this.pos = s.matrix(`${prefix}.positional_embedding`);
    this.lnPre = s.norm(`${prefix}.ln_pre`);
    this.blocks = Array.from({ length: config.layers }, (_, i) => residualBlockParams(s, `${prefix}.transformer.resblocks.${i}`, config.heads));
    this.lnPost = s.norm(`${prefix}.ln_post`);
    this.proj = s.matrix(`${prefix}.proj`);
  }

  /**
   * The patch convolution (kernel = stride = patch, no bias) as one product of flattened patches:
   * for training the kernel (wasm has no Conv2DBackpropFilter kernel), and where the native BLAS
   * runs the products (about 20x faster than wasm's convolution). [N, 3, R, R] -> [N, G*G, W].
   */
  private patchesAsProduct(pixels: tf.Tensor4D): tf.Tensor3D {
    const { patchSize: p, width: w } = this.config;
    const [n, c, r] = pixels.shape;
    const g = r / p;
    const flat = nativeOpsActive() && !isTrainable(this.patch)
      ? nativeOp('patches', [pixels], [n * g * g, c * p * p], [n, c, r, p])
      : tf.reshape(tf.transpose(tf.reshape(pixels, [n, c, g, p, g, p]), [0, 2, 4, 1, 3, 5]), [n * g * g, c * p * p]); // [N*G*G, 3*p*p]
    const kernel = tf.reshape(tf.transpose(this.patch, [2, 0, 1, 3]), [c * p * p, w]); // [3*p*p, W], rows in (c, kh, kw) order
    return tf.reshape(matMul(flat as tf.Tensor2D, kernel as tf.Tensor2D), [n, g * g, w]);
  }

  /** [N, 3, R, R] -> [N, E]. */
  forward(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const { patchSize: p, width: w } = this.config;
      const n = pixels.shape[0];
      const tokens = isTrainable(this.patch) || nativeKernelsActive() ? this.patchesAsProduct(pixels) : tf.reshape(
        tf.conv2d(tf.transpose(pixels, [0, 2, 3, 1]), this.patch, p, 'valid'), // [N, G, G, W]
        [n, -1, w]); // [N, G*G, W]
      const cls = tf.broadcastTo(tf.reshape(this.cls, [1, 1, w]), [n, 1, w]); // [N, 1, W]
      let x = tf.add(tf.concat([cls, tokens], 1), this.pos) as tf.Tensor3D; // [N, G*G+1, W]
      x = layerNorm(x, this.lnPre);
      const first = transformerFirstToken(x, this.blocks); // [N, W], the class token
      return tf.matMul(layerNorm(first, this.lnPost), this.proj); // [N, E]
    });
  }
}
