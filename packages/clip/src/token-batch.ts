/** CLIP's special tokens, context length and the padded id batches the text tower reads. */
import path from 'node:path';
import { DamplError, workspaceRoot } from '@dampl/runtime';
import type { TokenBatch } from './types.js';

export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
export const CONTEXT_LENGTH = 77;
/** Merges used by CLIP: lines 1..48894 of the merges file (line 0 is a version header). */
export const CLIP_MERGES = 49152 - 256 - 2;
export const BPE_VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';
/** CLIP's BPE vocabulary as committed in packages/clip/assets (openai/CLIP, MIT: LICENSE-openai-CLIP beside it). */
export const CLIP_BPE_VOCAB = path.join(workspaceRoot, 'packages', 'clip', 'assets', BPE_VOCAB_FILE);

/**
 * SOT + ids + EOT per text, zero-padded to `contextLength`; an over-long row keeps its first
 * `contextLength` tokens and its last one becomes EOT (openai/CLIP `tokenize(truncate=True)`).
 * `eot[i]` is the position of the row's first maximal id, which is what CLIP's `argmax` picks.
 */
export function buildTokenBatch(rows: number[][], sot: number, eot: number, contextLength = CONTEXT_LENGTH): TokenBatch {
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new DamplError(`context length must be an integer >= 2, got ${contextLength}`);
  }
  const ids = new Int32Array(rows.length * contextLength);
  const eotPos: number[] = [];
  rows.forEach((row, r) => {
    let tokens = [sot, ...row, eot];
    if (tokens.length > contextLength) {
      tokens = tokens.slice(0, contextLength);
      tokens[contextLength - 1] = eot;
    }
    ids.set(tokens, r * contextLength);
    let best = 0;
    for (let i = 1; i < tokens.length; i++) if (tokens[i]! > tokens[best]!) best = i;
    eotPos.push(best);
  });
  return { ids, shape: [rows.length, contextLength], eot: eotPos };
}
