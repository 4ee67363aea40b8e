/**
 * A small fake CLIP text tower for tests: a toy word tokenizer and a one-block causal
 * transformer with frozen random weights. It implements `TextTower` exactly as a real CLIP
 * model does (token embedding lookup, prompt path from embeddings, EOT pooling, projection)
 * and is differentiable with respect to the embeddings, at a size that trains in seconds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dampl/runtime';
import type { TextTokenizer, TextTower, TextTowerConfig, TokenBatch } from '../types.js';

export interface FakeTowerOptions {
  /** Token embedding width W (default 32). */
  width?: number;
  /** Joint embedding size E (default 16). */
  embedDim?: number;
  /** Maximum prompt length L (default 48). */
  contextLength?: number;
  /** Vocabulary size including padding, SOT and EOT (default 4096). */
  vocabSize?: number;
  /** exp(logit_scale) (default 100, as released CLIPs). */
  logitScale?: number;
  /** Seed of the frozen weights (default 1). */
  seed?: number;
}

/** Words and punctuation to ids by a fixed hash, so ids never depend on call order. */
class ToyTokenizer implements TextTokenizer {
  readonly sot: number;
  readonly eot: number;

  constructor(private readonly vocabSize: number, private readonly contextLength: number) {
    this.sot = vocabSize - 2;
    this.eot = vocabSize - 1;
  }

  encode(text: string): number[] {
    const words = text.toLowerCase().replace(/_/g, ' ').match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
    return words.map((w) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193);
      return 1 + ((h >>> 0) % (this.vocabSize - 3));
    });
  }

  tokenize(texts: string[], contextLength = this.contextLength): TokenBatch {
    const ids = new Int32Array(texts.length * contextLength);
    const eot: number[] = [];
    texts.forEach((t, row) => {
      const body = this.encode(t).slice(0, contextLength - 2);
      const toks = [this.sot, ...body, this.eot];
      ids.set(toks, row * contextLength);
      eot.push(toks.length - 1);
    });
    return { ids, shape: [texts.length, contextLength], eot };
  }
}

export class FakeTextTower implements TextTower {
  readonly config: TextTowerConfig;
  readonly logitScale: number;
  readonly weightsHash: string;
  readonly tokenizer: TextTokenizer;
  private readonly w: Map<string, tf.Tensor>;

  constructor(opts: FakeTowerOptions = {}) {
    const W = opts.width ?? 32;
    const E = opts.embedDim ?? 16;
    const L = opts.contextLength ?? 48;
    const V = opts.vocabSize ?? 4096;
    const seed = opts.seed ?? 1;
    this.config = { embedDim: E, text: { contextLength: L, vocabSize: V, width: W, heads: 1, layers: 1 } };
    this.logitScale = opts.logitScale ?? 100;
    this.weightsHash = `fake-text-tower-${W}-${E}-${L}-${V}-${seed}`;
    this.tokenizer = new ToyTokenizer(V, L);
    const rng = new Rng(seed);
    const normal = (shape: number[], std: number) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape);
    const lin = 1 / Math.sqrt(W);
    this.w = new Map<string, tf.Tensor>([
      ['token_embedding', normal([V, W], 0.02)],
      ['positional_embedding', normal([L, W], 0.01)],
      ['ln_1.weight', tf.ones([W])], ['ln_1.bias', tf.zeros([W])],
      ['attn.q', normal([W, W], lin)], ['attn.k', normal([W, W], lin)], ['attn.v', normal([W, W], lin)],
      ['attn.out', normal([W, W], lin)],
      ['ln_2.weight', tf.ones([W])], ['ln_2.bias', tf.zeros([W])],
      ['mlp.fc', normal([W, 2 * W], lin)], ['mlp.proj', normal([2 * W, W], 1 / Math.sqrt(2 * W))],
      ['ln_final.weight', tf.ones([W])], ['ln_final.bias', tf.zeros([W])],
      ['text_projection', normal([W, E], lin)],
    ]);
  }

  private p(name: string): tf.Tensor {
    return this.w.get(name)!;
  }

  private layerNorm(x: tf.Tensor3D, name: string): tf.Tensor3D {
    const { mean, variance } = tf.moments(x, -1, true);
    const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(xhat, this.p(`${name}.weight`)), this.p(`${name}.bias`));
  }

  private dense(x: tf.Tensor3D, name: string): tf.Tensor3D {
    const [P, L, W] = x.shape;
    const w = this.p(name) as tf.Tensor2D;
    return tf.reshape(tf.matMul(tf.reshape(x, [P * L, W]), w), [P, L, w.shape[1]]);
  }

  embedTokens(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [T, L] = tokens.shape;
      return tf.reshape(tf.gather(this.p('token_embedding'), tf.reshape(tokens, [T * L]).toInt()), [T, L, this.config.text.width]);
    });
  }

  encodeTextFromEmbeddings(embeddings: tf.Tensor3D, eotIndex: number[] | tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const [, L, W] = embeddings.shape;
      let x = tf.add(embeddings, tf.slice(this.p('positional_embedding'), [0, 0], [L, W])) as tf.Tensor3D; // (P, L, W)
      const h = this.layerNorm(x, 'ln_1');
      const q = this.dense(h, 'attn.q');
      const k = this.dense(h, 'attn.k');
      const v = this.dense(h, 'attn.v');
      const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([L, L]), -1, 0)), -1e9);
      const att = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(W)), causal)); // (P, L, L)
      x = tf.add(x, this.dense(tf.matMul(att, v) as tf.Tensor3D, 'attn.out'));
      x = tf.add(x, this.dense(tf.relu(this.dense(this.layerNorm(x, 'ln_2'), 'mlp.fc')), 'mlp.proj'));
      x = this.layerNorm(x, 'ln_final');
      const eot = eotIndex instanceof tf.Tensor ? eotIndex.toInt() : tf.tensor1d(eotIndex, 'int32');
      const pick = tf.expandDims(tf.oneHot(eot, L).toFloat(), 2); // (P, L, 1)
      const pooled = tf.sum(tf.mul(x, pick), 1) as tf.Tensor2D; // (P, W)
      return tf.matMul(pooled, this.p('text_projection') as tf.Tensor2D); // (P, E)
    });
  }

  weights(): Map<string, tf.Tensor> {
    return new Map(this.w);
  }

  dispose(): void {
    for (const t of this.w.values()) t.dispose();
  }
}
