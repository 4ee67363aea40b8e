/**
 * The contract every CLIP model in this project satisfies, whatever its towers and checkpoint
 * layout. Methods (packages/core, packages/baselines) and feature extraction depend on these
 * interfaces only.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface VisionConfig {
  kind: 'vit' | 'resnet';
  /** Input resolution R (images are [N, 3, R, R]). */
  imageSize: number;
  /** ViT: transformer width; ResNet: stem width (64 for RN50). */
  width: number;
  /** ViT: number of blocks; ResNet: blocks per stage, e.g. [3, 4, 6, 3]. */
  layers: number | number[];
  /** ViT only. */
  patchSize?: number;
  heads: number;
}

export interface TextConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  heads: number;
  layers: number;
}

export interface ClipConfig {
  /** Joint embedding size E. */
  embedDim: number;
  vision: VisionConfig;
  text: TextConfig;
}

/** Token ids for a batch of texts: row-major [T, L] with SOT, ids, EOT and zero padding. */
export interface TokenBatch {
  ids: Int32Array;
  shape: [number, number];
  /** Position of EOT in each row. */
  eot: number[];
}

export interface ClipTokenizer {
  readonly sot: number;
  readonly eot: number;
  /** BPE ids of a text after CLIP's cleaning, without SOT/EOT. */
  encode(text: string): number[];
  /** SOT + ids + EOT, zero-padded to `contextLength` (77); over-long input keeps 76 tokens then EOT. */
  tokenize(texts: string[], contextLength?: number): TokenBatch;
}

export interface ClipModel {
  readonly config: ClipConfig;
  /** exp(logit_scale): the multiplier of cosine similarities (about 100 for released CLIPs). */
  readonly logitScale: number;
  /** Identifies the weights (sha256 of the checkpoint files), for caches and results. */
  readonly weightsHash: string;
  /** Where it was loaded from (directory, file or hub id). */
  readonly source: string;

  /** [N, 3, R, R] normalised pixels -> [N, E] image features (not normalised). */
  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D;
  /** [T, L] int32 token ids (L <= 77) -> [T, E] text features (not normalised). */
  encodeText(tokens: tf.Tensor2D): tf.Tensor2D;
  /**
   * The prompt-learning path: `embeddings` [P, L, W] are used in place of token embeddings
   * (positional embeddings are added inside), `eotIndex` [P] picks the output row per prompt.
   * Differentiable with respect to `embeddings`. L <= 77; with a causal mask, rows after the last
   * EOT do not change the result, so callers may cut prompts after max(eotIndex) + 1.
   */
  encodeTextFromEmbeddings(embeddings: tf.Tensor3D, eotIndex: number[] | tf.Tensor1D): tf.Tensor2D;
  /**
   * Prompts that begin alike, the shared first tokens computed once per group (exact with the
   * causal mask): `prefix` [G, Lp, W]; `branches` [G * B, Lb, W], the rest of each prompt, prompt
   * j continuing prefix j % G when `branchMajor`, floor(j / B) otherwise; `eotIndex` [G * B]
   * positions in the joined prompt (Lp <= eot < Lp + Lb). The same features as
   * encodeTextFromEmbeddings on the joined prompts; differentiable with respect to both.
   */
  encodeTextShared(prefix: tf.Tensor3D, branches: tf.Tensor3D, branchMajor: boolean, eotIndex: number[]): tf.Tensor2D;
  /** Token embedding lookup: [T, L] int32 -> [T, L, W]. */
  embedTokens(tokens: tf.Tensor2D): tf.Tensor3D;
  /** The tokenizer that came with the model; throws if the model directory has none. */
  readonly tokenizer: ClipTokenizer;
  /** Every weight tensor by its canonical (OpenAI layout) name. Frozen: never a tf.Variable. */
  weights(): Map<string, tf.Tensor>;
  dispose(): void;
}
