/**
 * CLIP's byte-level BPE tokenizer, from either of two sources:
 *
 *   - OpenAI's merges file `bpe_simple_vocab_16e6.txt.gz` (bpe.ts), or
 *   - a Hugging Face model directory's `tokenizer.json`, run by @xenova/transformers (hf-tokenizer.ts).
 *
 * Both apply OpenAI's text cleaning first (text-clean.ts), so both give the same ids.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DamplError } from '@dampl/runtime';
import { BpeTokenizer, readBpeVocab } from './bpe.js';
import { loadHfTokenizer } from './hf-tokenizer.js';
import { BPE_VOCAB_FILE } from './token-batch.js';
import type { ClipTokenizer } from './types.js';

/**
 * Loads a tokenizer from a merges file (`bpe_simple_vocab_16e6.txt.gz` or its text), a
 * `tokenizer.json`, or a directory holding either (tokenizer.json preferred).
 */
export async function loadTokenizer(pathOrDir: string): Promise<ClipTokenizer> {
  if (!existsSync(pathOrDir)) {
    throw new DamplError(`tokenizer not found: ${pathOrDir}`, `give a directory with tokenizer.json or ${BPE_VOCAB_FILE}, or the file itself`);
  }
  if (statSync(pathOrDir).isDirectory()) {
    if (existsSync(path.join(pathOrDir, 'tokenizer.json'))) return loadHfTokenizer(pathOrDir);
    const bpe = path.join(pathOrDir, BPE_VOCAB_FILE);
    if (existsSync(bpe)) return new BpeTokenizer(await readBpeVocab(bpe), bpe);
    throw new DamplError(`${pathOrDir} holds neither tokenizer.json nor ${BPE_VOCAB_FILE}`,
      `copy CLIP's ${BPE_VOCAB_FILE} there, or write the Hugging Face files with writeHfTokenizerFiles`);
  }
  if (path.basename(pathOrDir) === 'tokenizer.json') return loadHfTokenizer(path.dirname(pathOrDir));
  return new BpeTokenizer(await readBpeVocab(pathOrDir), pathOrDir);
}
