/**
 * CLIP assembled from its towers (open_clip's `_build_vision_tower` / `_build_text_tower` pattern):
 * the config picks a ViT or ModifiedResNet image tower and the causal text transformer; the model
 * owns the weight tensors (plain tf.Tensors, never tf.Variable) until `dispose()`.
 * Nothing here reads files: load.ts turns checkpoints into canonical (OpenAI-named) tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DamplError, FormatError } from '@dampl/runtime';
import type { ClipConfig, ClipModel, ClipTokenizer } from './types.js';
import { WeightStore } from './weight-store.js';
import { VisionTransformer, vitConfig, vitWeightShapes } from './vit.js';
import { ModifiedResNet, resnetConfig, resnetWeightShapes } from './resnet.js';
import { TextTransformer, textConfig, textWeightShapes } from './text.js';
import { validateConfig } from './config.js';

/** Every canonical (OpenAI state dict) tensor name of a config, with its shape. */
export function clipWeightShapes(config: ClipConfig): Map<string, number[]> {
  const vision = config.vision.kind === 'vit' ? vitWeightShapes(vitConfig(config)) : resnetWeightShapes(resnetConfig(config));
  return new Map<string, number[]>([...vision, ...textWeightShapes(textConfig(config)), ['logit_scale', []]]);
}

export interface ClipInit {
  config: ClipConfig;
  /** Canonical name -> tensor in canonical layout and shape; the model takes ownership. */
  weights: Map<string, tf.Tensor>;
  weightsHash?: string;
  source?: string;
  /** A tokenizer, or a function that gives one on first use. */
  tokenizer?: ClipTokenizer | (() => ClipTokenizer);
  /**
   * Make the weights tf.Variables and train them (contrastive pretraining of a small CLIP); see
   * `clipVariables`. ViT image towers only: ModifiedResNet's BatchNorm runs in eval mode.
   */
  trainable?: boolean;
}

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

class Clip implements ClipModel {
  readonly config: ClipConfig;
  readonly logitScale: number;
  readonly weightsHash: string;
  readonly source: string;
  private readonly store: WeightStore;
  private readonly visual: VisionTransformer | ModifiedResNet;
  private readonly text: TextTransformer;
  private tokenizerSource: ClipInit['tokenizer'];
  private tokenizerValue: ClipTokenizer | undefined;

  constructor(init: ClipInit, store: WeightStore, logitScale: number) {
    this.config = init.config;
    this.store = store;
    this.weightsHash = init.weightsHash ?? '';
    this.source = init.source ?? '(in memory)';
    this.tokenizerSource = init.tokenizer;
    this.visual = init.config.vision.kind === 'vit'
      ? new VisionTransformer(vitConfig(init.config), store)
      : new ModifiedResNet(resnetConfig(init.config), store);
    this.text = new TextTransformer(textConfig(init.config), store);
    this.logitScale = logitScale;
  }

  get tokenizer(): ClipTokenizer {
    if (!this.tokenizerValue) {
      const src = this.tokenizerSource;
      if (!src) {
        throw new DamplError(`the CLIP model from ${this.source} has no tokenizer`,
          'pass one when loading: loadClip(path, { tokenizer }), or tokenize with a ClipTokenizer and call encodeText');
      }
      this.tokenizerValue = typeof src === 'function' ? src() : src;
    }
    return this.tokenizerValue;
  }

  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    const r = this.config.vision.imageSize;
    const s = pixels.shape;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== r || s[3] !== r) {
      throw new DamplError(`encodeImage: pixels have shape ${shapeStr(s)}, expected [N, 3, ${r}, ${r}]`,
        `preprocess images to ${r}x${r} and pass them channels-first (NCHW)`);
    }
    return this.visual.forward(pixels.dtype === 'float32' ? pixels : tf.cast(pixels, 'float32'));
  }

  encodeText(tokens: tf.Tensor2D): tf.Tensor2D {
    const s = tokens.shape;
    if (s.length !== 2 || s[1]! > this.config.text.contextLength || s[1]! < 1) {
      throw new DamplError(`encodeText: tokens have shape ${shapeStr(s)}, expected [T, L] with 1 <= L <= ${this.config.text.contextLength}`);
    }
    return this.text.forwardTokens(tokens);
  }

  encodeTextFromEmbeddings(embeddings: tf.Tensor3D, eotIndex: number[] | tf.Tensor1D): tf.Tensor2D {
    const [p, l, w] = embeddings.shape;
    const { contextLength, width } = this.config.text;
    if (embeddings.rank !== 3 || w !== width || l > contextLength || l < 1) {
      throw new DamplError(`encodeTextFromEmbeddings: embeddings have shape ${shapeStr(embeddings.shape)}, expected [P, L, ${width}] with 1 <= L <= ${contextLength}`);
    }
    const n = Array.isArray(eotIndex) ? eotIndex.length : eotIndex.shape[0];
    if (n !== p) throw new DamplError(`encodeTextFromEmbeddings: ${n} EOT indices for ${p} prompts`);
    if (Array.isArray(eotIndex)) {
      const bad = eotIndex.findIndex((i) => !Number.isInteger(i) || i < 0 || i >= l);
      if (bad >= 0) {
        throw new DamplError(`encodeTextFromEmbeddings: eotIndex[${bad}] = ${eotIndex[bad]} is outside [0, ${l})`,
          'a prompt cut to L positions must keep its EOT: cut after max(eotIndex) + 1');
      }
    }
    return tf.tidy(() => {
      const eot = Array.isArray(eotIndex) ? tf.tensor1d(eotIndex, 'int32')
        : eotIndex.dtype === 'int32' ? eotIndex : tf.cast(eotIndex, 'int32');
      return this.text.forwardEmbeddings(embeddings, eot);
    });
  }

  encodeTextShared(prefix: tf.Tensor3D, branches: tf.Tensor3D, branchMajor: boolean, eotIndex: number[]): tf.Tensor2D {
    const { contextLength, width } = this.config.text;
    const [g, lp, w] = prefix.shape;
    const [p, lb, wb] = branches.shape;
    if (prefix.rank !== 3 || branches.rank !== 3 || w !== width || wb !== width || g < 1 || p % g !== 0 || lp < 1 || lb < 1 || lp + lb > contextLength) {
      throw new DamplError(`encodeTextShared: prefix ${shapeStr(prefix.shape)} and branches ${shapeStr(branches.shape)} do not make prompts: expected [G, Lp, ${width}] and [G * B, Lb, ${width}] with Lp + Lb <= ${contextLength}`);
    }
    if (eotIndex.length !== p) throw new DamplError(`encodeTextShared: ${eotIndex.length} EOT indices for ${p} prompts`);
    const bad = eotIndex.findIndex((i) => !Number.isInteger(i) || i < lp || i >= lp + lb);
    if (bad >= 0) throw new DamplError(`encodeTextShared: eotIndex[${bad}] = ${eotIndex[bad]} is outside the branches, [${lp}, ${lp + lb})`);
    return this.text.forwardShared(prefix, branches, branchMajor, eotIndex);
  }

  embedTokens(tokens: tf.Tensor2D): tf.Tensor3D {
    return this.text.embed(tokens);
  }

  weights(): Map<string, tf.Tensor> {
    return this.store.canonical();
  }

  variables(): Map<string, tf.Variable> {
    return this.store.variables();
  }

  dispose(): void {
    if (this.visual instanceof ModifiedResNet) this.visual.dispose();
    this.store.dispose();
  }
}

/**
 * Builds a CLIP from canonical tensors. Every tensor the config needs must be there with its
 * shape, and nothing else; otherwise a FormatError names the tensor (and both shapes).
 * On error the tensors are disposed. Asynchronous: the logit scale is read from the device.
 */
export async function createClip(init: ClipInit): Promise<ClipModel> {
  const config = validateConfig(init.config);
  const expected = clipWeightShapes(config);
  try {
    for (const [name, shape] of expected) {
      const t = init.weights.get(name);
      if (!t) throw new FormatError(`missing weight '${name}' (expected shape ${shapeStr(shape)})`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new FormatError(`weight '${name}' has shape ${shapeStr(t.shape)} but the config needs ${shapeStr(shape)}`);
      }
    }
    for (const name of init.weights.keys()) {
      if (!expected.has(name)) throw new FormatError(`unexpected weight '${name}' for this config`);
    }
  } catch (e) {
    for (const t of init.weights.values()) t.dispose();
    throw e;
  }
  if (init.trainable && config.vision.kind !== 'vit') {
    for (const t of init.weights.values()) t.dispose();
    throw new DamplError('only CLIPs with a ViT image tower can be trained here', 'ModifiedResNet BatchNorm layers run with running statistics');
  }
  const store = new WeightStore(init.weights, { trainable: init.trainable });
  try {
    const scale = (await store.tensor('logit_scale').data())[0]!;
    if (!Number.isFinite(scale)) throw new FormatError(`logit_scale is ${scale}`, 'the checkpoint is damaged; download it again');
    return new Clip({ ...init, config }, store, Math.exp(scale));
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/**
 * The trainable variables (by canonical name) of a model made with `trainable: true`; empty for a
 * frozen model. `model.weights()` of a trainable model returns fresh canonical copies to save.
 */
export function clipVariables(model: ClipModel): Map<string, tf.Variable> {
  return model instanceof Clip ? model.variables() : new Map();
}

/**
 * Random canonical weights for a config (for benchmarks and tests): normal(0, std) matrices,
 * LayerNorm/BatchNorm scales 1, shifts 0, running variances 1, logit_scale ln(1/0.07).
 */
export function randomClipWeights(config: ClipConfig, seed = 0, std = 0.02): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let i = 0;
  for (const [name, shape] of clipWeightShapes(config)) {
    let t: tf.Tensor;
    if (name === 'logit_scale') t = tf.scalar(Math.log(1 / 0.07));
    else if (/(ln_\w+|bn\d|downsample\.1)\.weight$|running_var$/.test(name)) t = tf.ones(shape);
    else if (/(ln_\w+|bn\d|downsample\.1)\.bias$|running_mean$/.test(name)) t = tf.zeros(shape);
    else t = tf.randomNormal(shape, 0, std, 'float32', seed + i++);
    out.set(name, t);
  }
  return out;
}
