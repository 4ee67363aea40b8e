/**
 * OpenAI CLIP's text tower (clip/model.py `encode_text`): token embedding plus learned positional
 * embedding, pre-LN residual attention blocks under a causal mask, ln_final, and the row at the
 * EOT position (argmax of the token ids) times text_projection.
 *
 * `forwardEmbeddings` is the prompt-learning entry point: it takes embeddings in place of token
 * embeddings and is differentiable with respect to them. Sequences may be shorter than the
 * context: the first L positional embeddings and an L x L causal mask are used, so cutting a
 * prompt after its EOT leaves the result unchanged.
 *
 * `forwardShared` takes prompts that begin alike (prompt learning with class-specific context
 * shared by the domains, or a context shared by the classes): with a causal mask the shared first
 * tokens have the same activations in every prompt, so they are computed once per group and the
 * rest of each prompt attends to them (the native kernels' prefix-sharing attention); the last
 * block makes only each prompt's EOT row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '@dampl/runtime';
import type { ClipConfig } from './types.js';
import { isTrainable, layerNorm, type Norm } from './layers.js';
import { causalMask } from './attention.js';
import { residualBlockParams, residualBlockShapes, rowsTransformer, rowsTransformerAvailable, transformer, type ResidualBlock } from './block.js';
import { type WeightStore } from './weight-store.js';

export interface TextTransformerConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  heads: number;
  layers: number;
  /** Joint embedding size E. */
  outputDim: number;
}

export function textConfig(c: ClipConfig): TextTransformerConfig {
  return { ...c.text, outputDim: c.embedDim };
}

/** Canonical parameter names and shapes (top level of OpenAI's state dict). */
export function textWeightShapes(c: TextTransformerConfig): [string, number[]][] {
  const w = c.width;
  const out: [string, number[]][] = [
    ['token_embedding.weight', [c.vocabSize, w]],
    ['positional_embedding', [c.contextLength, w]],
  ];
  for (let i = 0; i < c.layers; i++) out.push(...residualBlockShapes(`transformer.resblocks.${i}`, w));
  out.push(['ln_final.weight', [w]], ['ln_final.bias', [w]], ['text_projection', [w, c.outputDim]]);
  return out;
}

export class TextTransformer {
  private readonly tokenEmbedding: tf.Tensor2D; // [V, W]
  private readonly pos: tf.Tensor2D; // [77, W]
  private readonly blocks: ResidualBlock[];
  private readonly lnFinal: Norm;
  private readonly proj: tf.Tensor2D; // [W, E]

  constructor(readonly config: TextTransformerConfig, s: WeightStore) {
    this.tokenEmbedding = s.matrix('token_embedding.weight');
    this.pos = s.matrix('positional_embedding');
    this.blocks = Array.from({ length: config.layers }, (_, i) => residualBlockParams(s, `transformer.resblocks.${i}`, config.heads, true));
    this.lnFinal = s.norm('ln_final');
    this.proj = s.matrix('text_projection');
  }

  /** [T, L] int32 -> [T, L, W]. */
  embed(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [t, l] = tokens.shape;
      const ids = tf.reshape(tokens.dtype === 'int32' ? tokens : tf.cast(tokens, 'int32'), [t * l]);
      // Training the table: a one-hot product, whose gradient is a matMul (gather's gradient,
      // UnsortedSegmentSum, has no wasm kernel). Exact: each row sums one nonzero term.
      const rows = isTrainable(this.tokenEmbedding)
        ? matMul(tf.cast(tf.oneHot(ids, this.config.vocabSize), 'float32') as tf.Tensor2D, this.tokenEmbedding)
        : tf.gather(this.tokenEmbedding, ids);
      return tf.reshape(rows, [t, l, this.config.width]);
    });
  }

  /** embeddings [P, L, W], eot [P] int32 -> [P, E]. */
  forwardEmbeddings(embeddings: tf.Tensor3D, eot: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const [p, l, w] = embeddings.shape;
      const pos = l === this.config.contextLength ? this.pos : tf.slice(this.pos, [0, 0], [l, w]); // [L, W]
      let x = tf.add(embeddings, pos) as tf.Tensor3D; // [P, L, W]
      x = transformer(x, this.blocks, causalMask(l));
      const rows = pickRows(x, tf.reshape(tf.cast(tf.oneHot(eot, l), 'float32'), [p, l, 1]) as tf.Tensor3D); // [P, W]
      return tf.matMul(layerNorm(rows, this.lnFinal), this.proj); // [P, E]
    });
  }

  /**
   * prefix [G, Lp, W], branches [G * B, Lb, W] (branch j continues prefix j % G when branchMajor,
   * floor(j / B) otherwise), eot [G * B] positions in the joined prompt (>= Lp) -> [G * B, E]: the
   * same values as forwardEmbeddings on the joined prompts, the prefixes computed once. Where the
   * native kernels do not run, it joins the prompts and takes that path.
   */
  forwardShared(prefix: tf.Tensor3D, branches: tf.Tensor3D, branchMajor: boolean, eot: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const [g, lp, w] = prefix.shape;
      const [p, lb] = branches.shape;
      const b = p / g;
      if (!rowsTransformerAvailable(this.blocks)) {
        const shared = branchMajor ? tf.tile(prefix, [b, 1, 1]) : tf.reshape(tf.tile(tf.reshape(prefix, [g, 1, lp, w]), [1, b, 1, 1]), [p, lp, w]);
        return this.forwardEmbeddings(tf.concat([shared, branches], 1) as tf.Tensor3D, tf.tensor1d(eot, 'int32'));
      }
      const xp = tf.reshape(tf.add(prefix, tf.slice(this.pos, [0, 0], [lp, w])), [g * lp, w]);
      const xb = tf.reshape(tf.add(branches, tf.slice(this.pos, [lp, 0], [lb, w])), [p * lb, w]);
      // only each prompt's EOT row leaves the last block (row g Lp + j Lb + eot_j - Lp of the rows)
      const keep = tf.tensor1d(eot.map((e, j) => g * lp + j * lb + e - lp), 'int32');
      const rows = rowsTransformer(tf.concat([xp, xb], 0) as tf.Tensor2D, this.blocks, { groups: g, prefix: lp, branches: b, branch: lb, branchMajor, causal: true }, keep);
      return tf.matMul(layerNorm(rows, this.lnFinal), this.proj);
    });
  }

  /** tokens [T, L] int32 -> [T, E], EOT at argmax of each row as in OpenAI's encode_text. */
  forwardTokens(tokens: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const eot = tf.cast(tf.argMax(tokens, 1), 'int32') as tf.Tensor1D;
      return this.forwardEmbeddings(this.embed(tokens), eot);
    });
  }
}

/**
 * The EOT row of each prompt: rows_p = sum_l x[p, l] * pick[p, l] for x [P, L, W] and a one-hot
 * pick [P, L, 1] (exact: one term is nonzero; int32 one-hot then cast, because the wasm backend's
 * OneHot writes int bits into float32 outputs). Its gradient dx[p, l] = dy[p] * pick[p, l] is made
 * on the device: tf.sum's own gradient would upload a host-made tensor of ones of x's shape every
 * step (10 MB for ViT-B/16's 130 prompts).
 */
function pickRows(x: tf.Tensor3D, pick: tf.Tensor3D): tf.Tensor2D {
  const f = tf.customGrad(((xi: tf.Tensor3D, save: (t: tf.Tensor[]) => void) => {
    save([pick]);
    return {
      value: tf.sum(tf.mul(xi, pick), 1),
      gradFunc: (dy: tf.Tensor2D, [saved]: tf.Tensor[]) => tf.mul(tf.expandDims(dy, 1), saved!),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (x: tf.Tensor3D) => tf.Tensor2D)(x);
}
