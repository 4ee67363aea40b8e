/**
 * OpenAI CLIP's ModifiedResNet (clip/model.py): a 3-convolution stem with BatchNorm and ReLU and
 * a 2x2 average pool; Bottleneck blocks whose stride is an average pool before conv3 and on the
 * downsample path (avgpool, 1x1 conv, BatchNorm); and AttentionPool2d, a single multi-head
 * attention of the mean token over the grid with its own positional embedding. BatchNorm runs in
 * eval mode (running statistics). Input is NCHW as in the reference; the tower runs in NHWC.
 * Where the native kernels run (wasm, cpu with the addon), each convolution is the addon's conv2d
 * (gathered pixels times the weights, on the BLAS) with its BatchNorm folded into the weights and
 * a bias; that path is for inference (the image tower is frozen) and has no gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOp, nativeOpsActive } from '@dampl/runtime';
import type { ClipConfig } from './types.js';
import { BN_EPS, batchNorm, linear, type BatchNorm, type Linear } from './layers.js';
import { attend } from './attention.js';
import { type WeightStore } from './weight-store.js';

export interface ResNetConfig {
  /** Input resolution R (a multiple of 32). */
  imageSize: number;
  /** Stem width (64 for RN50); stage s has width * 2^s planes and 4x that many output channels. */
  width: number;
  /** Bottleneck blocks per stage. */
  layers: number[];
  /** Heads of the attention pool. */
  heads: number;
  /** Joint embedding size E. */
  outputDim: number;
}

const EXPANSION = 4;

export function resnetConfig(c: ClipConfig): ResNetConfig {
  const v = c.vision;
  if (v.kind !== 'resnet' || !Array.isArray(v.layers)) throw new Error('not a ResNet vision config');
  return { imageSize: v.imageSize, width: v.width, layers: [...v.layers], heads: v.heads, outputDim: c.embedDim };
}

export interface BlockSpec { prefix: string; inplanes: number; planes: number; stride: number; downsample: boolean }

/** The Bottlenecks of a ResNet CLIP's image tower in order (channels, stride, shortcut), as the model builds them. */
export function resnetBlocks(c: ClipConfig): BlockSpec[] {
  return blockSpecs(resnetConfig(c), 'visual');
}

/** Every Bottleneck of the tower in order, as `_make_layer` builds them. */
function blockSpecs(c: ResNetConfig, prefix: string): BlockSpec[] {
  const specs: BlockSpec[] = [];
  let inplanes = c.width;
  c.layers.forEach((blocks, stage) => {
    const planes = c.width * 2 ** stage;
    for (let i = 0; i < blocks; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      specs.push({ prefix: `${prefix}.layer${stage + 1}.${i}`, inplanes, planes, stride, downsample: stride > 1 || inplanes !== planes * EXPANSION });
      inplanes = planes * EXPANSION;
    }
  });
  return specs;
}

const bnShapes = (p: string, c: number): [string, number[]][] =>
  ['weight', 'bias', 'running_mean', 'running_var'].map((k) => [`${p}.${k}`, [c]]);

/** Canonical parameter names and shapes (OpenAI's state dict under `prefix`, without num_batches_tracked). */
export function resnetWeightShapes(c: ResNetConfig, prefix = 'visual'): [string, number[]][] {
  const half = c.width / 2;
  const out: [string, number[]][] = [
    [`${prefix}.conv1.weight`, [half, 3, 3, 3]], ...bnShapes(`${prefix}.bn1`, half),
    [`${prefix}.conv2.weight`, [half, half, 3, 3]], ...bnShapes(`${prefix}.bn2`, half),
    [`${prefix}.conv3.weight`, [c.width, half, 3, 3]], ...bnShapes(`${prefix}.bn3`, c.width),
  ];
  for (const b of blockSpecs(c, prefix)) {
    const o = b.planes * EXPANSION;
    out.push(
      [`${b.prefix}.conv1.weight`, [b.planes, b.inplanes, 1, 1]], ...bnShapes(`${b.prefix}.bn1`, b.planes),
      [`${b.prefix}.conv2.weight`, [b.planes, b.planes, 3, 3]], ...bnShapes(`${b.prefix}.bn2`, b.planes),
      [`${b.prefix}.conv3.weight`, [o, b.planes, 1, 1]], ...bnShapes(`${b.prefix}.bn3`, o),
    );
    if (b.downsample) out.push([`${b.prefix}.downsample.0.weight`, [o, b.inplanes, 1, 1]], ...bnShapes(`${b.prefix}.downsample.1`, o));
  }
  const embed = c.width * 32;
  const spatial = c.imageSize / 32;
  const ap = `${prefix}.attnpool`;
  out.push([`${ap}.positional_embedding`, [spatial * spatial + 1, embed]]);
  for (const k of ['q_proj', 'k_proj', 'v_proj']) out.push([`${ap}.${k}.weight`, [embed, embed]], [`${ap}.${k}.bias`, [embed]]);
  out.push([`${ap}.c_proj.weight`, [c.outputDim, embed]], [`${ap}.c_proj.bias`, [c.outputDim]]);
  return out;
}

interface ConvBn {
  conv: tf.Tensor4D;
  bn: BatchNorm;
  /** conv scaled by weight / sqrt(variance + eps) per output channel, and the bias that leaves: made on first native use */
  folded?: { w: tf.Tensor4D; b: tf.Tensor1D };
}

interface Bottleneck {
  stride: number;
  c1: ConvBn;
  c2: ConvBn;
  c3: ConvBn;
  down?: ConvBn;
}

interface AttentionPool {
  pos: tf.Tensor2D; // [S, C]
  q: Linear;
  k: Linear;
  v: Linear;
  c: Linear;
  heads: number;
}

function folded(p: ConvBn): { w: tf.Tensor4D; b: tf.Tensor1D } {
  p.folded ??= tf.tidy(() => {
    const s = tf.div(p.bn.weight, tf.sqrt(tf.add(p.bn.variance, BN_EPS)));
    return { w: tf.keep(tf.mul(p.conv, s)), b: tf.keep(tf.sub(p.bn.bias, tf.mul(p.bn.mean, s))) };
  });
  return p.folded;
}

/** bn(conv(x)) (+ residual), and relu of that with `relu` (on the native path in one call). */
function convBn(x: tf.Tensor4D, p: ConvBn, stride = 1, pad = 0, relu = false, residual?: tf.Tensor4D): tf.Tensor4D {
  if (!nativeOpsActive()) {
    const bn = batchNorm(tf.conv2d(x, p.conv, stride, pad), p.bn);
    const y: tf.Tensor4D = residual ? tf.add(bn, residual) : bn;
    return relu ? tf.relu(y) : y;
  }
  const [n, h, w, c] = x.shape;
  const [kh, kw, , oc] = p.conv.shape;
  const out = [n, Math.floor((h + 2 * pad - kh) / stride) + 1, Math.floor((w + 2 * pad - kw) / stride) + 1, oc];
  const f = folded(p);
  return nativeOp('conv2d', [x, f.w, f.b, residual ?? null], out, [n, h, w, c, kh, kw, stride, pad, oc, relu]) as tf.Tensor4D;
}

function avgPool(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return k > 1 ? tf.avgPool(x, k, k, 'valid') : x;
}

/** relu(bn3(conv3(avgpool(relu(bn2(conv2(relu(bn1(conv1(x))))))))) + downsample(x)). */
function bottleneck(x: tf.Tensor4D, b: Bottleneck): tf.Tensor4D {
  let out = convBn(x, b.c1, 1, 0, true);
  out = convBn(out, b.c2, 1, 1, true);
  const identity = b.down ? convBn(avgPool(x, b.stride), b.down) : x;
  return convBn(avgPool(out, b.stride), b.c3, 1, 0, true, identity);
}

/** [N, h, w, C] -> [N, E]: the attention output of the mean token, the only row CLIP keeps. */
function attentionPool(x: tf.Tensor4D, p: AttentionPool): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const flat = tf.reshape(x, [n, h * w, c]); // [N, HW, C]
  const t = tf.add(tf.concat([tf.mean(flat, 1, true), flat], 1), p.pos) as tf.Tensor3D; // [N, HW+1, C]
  const q = linear(tf.slice(t, [0, 0, 0], [n, 1, c]), p.q); // [N, 1, C]
  const o = attend(q, linear(t, p.k), linear(t, p.v), p.heads); // [N, 1, C]
  return linear(tf.reshape(o, [n, c]), p.c); // [N, E]
}

export class ModifiedResNet {
  private readonly stem: ConvBn[];
  private readonly blocks: Bottleneck[];
  private readonly pool: AttentionPool;

  constructor(readonly config: ResNetConfig, s: WeightStore, prefix = 'visual') {
    const cb = (conv: string, bn: string): ConvBn => ({ conv: s.conv(conv), bn: s.batchNorm(bn) });
    this.stem = [1, 2, 3].map((i) => cb(`${prefix}.conv${i}.weight`, `${prefix}.bn${i}`));
    this.blocks = blockSpecs(config, prefix).map((b) => ({
      stride: b.stride,
      c1: cb(`${b.prefix}.conv1.weight`, `${b.prefix}.bn1`),
      c2: cb(`${b.prefix}.conv2.weight`, `${b.prefix}.bn2`),
      c3: cb(`${b.prefix}.conv3.weight`, `${b.prefix}.bn3`),
      down: b.downsample ? cb(`${b.prefix}.downsample.0.weight`, `${b.prefix}.downsample.1`) : undefined,
    }));
    const ap = `${prefix}.attnpool`;
    this.pool = {
      pos: s.matrix(`${ap}.positional_embedding`),
      q: s.linear(`${ap}.q_proj`),
      k: s.linear(`${ap}.k_proj`),
      v: s.linear(`${ap}.v_proj`),
      c: s.linear(`${ap}.c_proj`),
      heads: config.heads,
    };
  }

  /** Releases the folded convolutions of the native path (the weights themselves are the store's). */
  dispose(): void {
    for (const p of [...this.stem, ...this.blocks.flatMap((b) => [b.c1, b.c2, b.c3, ...(b.down ? [b.down] : [])])]) {
      if (!p.folded) continue;
      p.folded.w.dispose();
      p.folded.b.dispose();
      p.folded = undefined;
    }
  }

  /** [N, 3, R, R] -> [N, E]. */
  forward(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let x = tf.transpose(pixels, [0, 2, 3, 1]); // [N, R, R, 3]
      x = convBn(x, this.stem[0]!, 2, 1, true); // [N, R/2, R/2, W/2]
      x = convBn(x, this.stem[1]!, 1, 1, true);
      x = convBn(x, this.stem[2]!, 1, 1, true); // [N, R/2, R/2, W]
      x = avgPool(x, 2); // [N, R/4, R/4, W]
      for (const b of this.blocks) {
        const prev = x;
        x = tf.tidy(() => bottleneck(prev, b));
        prev.dispose();
      } // [N, R/32, R/32, 32W]
      return attentionPool(x, this.pool);
    });
  }
}
