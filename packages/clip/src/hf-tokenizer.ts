/**
 * CLIP's tokenizer from a Hugging Face model directory's `tokenizer.json`, run by
 * @xenova/transformers after OpenAI's cleaning (so that it gives the ids of bpe.ts), and the
 * writer of those files from a BPE vocabulary.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, atomicWriteFile } from '@dampl/runtime';
import { readBpeVocab, type BpeVocab } from './bpe.js';
import { cleanText } from './text-clean.js';
import { CONTEXT_LENGTH, EOT_TOKEN, SOT_TOKEN, buildTokenBatch } from './token-batch.js';
import type { ClipTokenizer, TokenBatch } from './types.js';

interface XenovaTokenizer {
  encode(text: string, pair?: string | null, opts?: { add_special_tokens?: boolean }): number[];
  model: { tokens_to_ids: Map<string, number> };
}

class HfTokenizer implements ClipTokenizer {
  readonly sot: number;
  readonly eot: number;

  constructor(private readonly tok: XenovaTokenizer, readonly source: string) {
    const sot = tok.model.tokens_to_ids.get(SOT_TOKEN);
    const eot = tok.model.tokens_to_ids.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) {
      throw new FormatError(`${source}: the vocabulary has no ${SOT_TOKEN} / ${EOT_TOKEN}`, 'is this a CLIP tokenizer.json?');
    }
    this.sot = sot;
    this.eot = eot;
  }

  /** The HF pipeline (NFC, whitespace, lowercase, split, byte-level BPE) after OpenAI's cleaning. */
  encode(text: string): number[] {
    return this.tok.encode(cleanText(text), null, { add_special_tokens: false });
  }

  tokenize(texts: string[], contextLength = CONTEXT_LENGTH): TokenBatch {
    return buildTokenBatch(texts.map((t) => this.encode(t)), this.sot, this.eot, contextLength);
  }
}

export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const { AutoTokenizer, env } = await import('@xenova/transformers');
  const abs = path.resolve(dir);
  const saved = { allowRemoteModels: env.allowRemoteModels, allowLocalModels: env.allowLocalModels, localModelPath: env.localModelPath, useFSCache: env.useFSCache };
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(abs);
  env.useFSCache = false;
  try {
    const tok = await AutoTokenizer.from_pretrained(path.basename(abs), { local_files_only: true });
    return new HfTokenizer(tok as unknown as XenovaTokenizer, path.join(abs, 'tokenizer.json'));
  } catch (e) {
    throw new FormatError(`${abs}: cannot load tokenizer.json (${(e as Error).message.split('\n')[0]})`,
      'the directory needs tokenizer.json and tokenizer_config.json as Hugging Face publishes them for CLIP');
  } finally {
    Object.assign(env, saved);
  }
}

/** The pre-tokenizer split of Hugging Face's CLIPTokenizerFast (same pieces as PIECE_PATTERN). */
const HF_SPLIT_REGEX = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

const addedToken = (id: number, content: string, normalized: boolean) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true,
});

/** The `tokenizer.json` object of a CLIP vocabulary, laid out as Hugging Face publishes it. */
function hfTokenizerJson(bpe: BpeVocab): Record<string, unknown> {
  const sot = bpe.vocab.indexOf(SOT_TOKEN);
  const eot = bpe.vocab.indexOf(EOT_TOKEN);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(sot, SOT_TOKEN, true), addedToken(eot, EOT_TOKEN, false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: HF_SPLIT_REGEX }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing', sep: [EOT_TOKEN, eot], cls: [SOT_TOKEN, sot], trim_offsets: false, add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOT_TOKEN,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(bpe.vocab.map((t, i) => [t, i])),
      merges: bpe.merges,
    },
  };
}

/**
 * Writes a CLIP tokenizer in Hugging Face layout into `dir`: `tokenizer.json` (fast tokenizer),
 * `vocab.json` + `merges.txt` (slow tokenizer), `tokenizer_config.json` and
 * `special_tokens_map.json`, from CLIP's merges file (a path) or a vocabulary built in memory
 * (e.g. by `trainBpe`).
 */
export async function writeHfTokenizerFiles(dir: string, vocab: string | BpeVocab): Promise<void> {
  const bpe = typeof vocab === 'string' ? await readBpeVocab(vocab) : vocab;
  await mkdir(dir, { recursive: true });
  const json = (o: unknown) => JSON.stringify(o, null, 2) + '\n';
  const special = (content: string) => ({ content, single_word: false, lstrip: false, rstrip: false, normalized: true });
  await atomicWriteFile(path.join(dir, 'tokenizer.json'), json(hfTokenizerJson(bpe)));
  await atomicWriteFile(path.join(dir, 'vocab.json'), json(Object.fromEntries(bpe.vocab.map((t, i) => [t, i]))));
  await atomicWriteFile(path.join(dir, 'merges.txt'), `#version: 0.2\n${bpe.merges.join('\n')}\n`);
  await atomicWriteFile(path.join(dir, 'special_tokens_map.json'), json({
    bos_token: special(SOT_TOKEN), eos_token: special(EOT_TOKEN), pad_token: EOT_TOKEN, unk_token: special(EOT_TOKEN),
  }));
  await atomicWriteFile(path.join(dir, 'tokenizer_config.json'), json({
    add_prefix_space: false,
    bos_token: SOT_TOKEN,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: EOT_TOKEN,
    errors: 'replace',
    model_max_length: CONTEXT_LENGTH,
    pad_token: EOT_TOKEN,
    tokenizer_class: 'CLIPTokenizer',
    unk_token: EOT_TOKEN,
  }));
}
