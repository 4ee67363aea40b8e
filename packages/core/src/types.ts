/**
 * The part of a CLIP model that prompt learning uses: the text tower, its token embedding, the
 * tokenizer and the logit scale. Every member has the exact signature of the same member of
 * `ClipModel` in packages/clip/src/types.ts, so a real CLIP model satisfies `TextTower`
 * structurally; tests use a small fake tower (`@dampl/core/testing`).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ClipTokenizer, TokenBatch } from '@dampl/clip';

export type { TokenBatch };

/** The tokenizer prompt learning uses: CLIP's own (packages/clip), or a test's stand-in. */
export type TextTokenizer = ClipTokenizer;

/** What prompt learning reads of a model's configuration. */
export interface TextTowerConfig {
  /** Joint embedding size E (image and text features). */
  readonly embedDim: number;
  readonly text: {
    readonly contextLength: number;
    readonly vocabSize: number;
    /** Token embedding width W. */
    readonly width: number;
    readonly heads: number;
    readonly layers: number;
  };
}

export interface TextTower {
  readonly config: TextTowerConfig;
  /** exp(logit_scale): the multiplier s of cosine similarities (about 100 for released CLIPs). */
  readonly logitScale: number;
  /** Identifies the weights (sha256 of the checkpoint files), recorded in checkpoints. */
  readonly weightsHash: string;
  /**
   * `embeddings` [P, L, W] in place of token embeddings (positional embeddings added inside),
   * `eotIndex` [P] picks the output row per prompt -> [P, E] text features (not normalised).
   * Differentiable with respect to `embeddings`.
   */
  encodeTextFromEmbeddings(embeddings: tf.Tensor3D, eotIndex: number[] | tf.Tensor1D): tf.Tensor2D;
  /**
   * Prompts that begin alike, the shared part computed once: `prefix` [G, Lp, W], one per group;
   * `branches` [G * B, Lb, W], the rest of each prompt (prompt j continues prefix j % G when
   * `branchMajor`, floor(j / B) otherwise); `eotIndex` [G * B] positions in the joined prompt.
   * The same features as encodeTextFromEmbeddings on the joined prompts; differentiable with
   * respect to both. Optional: towers without it are given the joined prompts.
   */
  encodeTextShared?(prefix: tf.Tensor3D, branches: tf.Tensor3D, branchMajor: boolean, eotIndex: number[]): tf.Tensor2D;
  /** Token embedding lookup: [T, L] int32 -> [T, L, W]. */
  embedTokens(tokens: tf.Tensor2D): tf.Tensor3D;
  readonly tokenizer: TextTokenizer;
  /** Every weight tensor by name. Frozen: never a tf.Variable. */
  weights(): Map<string, tf.Tensor>;
}
