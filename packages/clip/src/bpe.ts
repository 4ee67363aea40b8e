/**
 * CLIP's byte-level BPE from OpenAI's merges file `bpe_simple_vocab_16e6.txt.gz` (the
 * `simple_tokenizer.py` of openai/CLIP, ported here).
 *
 * Vocabulary (49408 ids): the 256 byte characters, the same 256 with `</w>` (end of word), the
 * 48894 merges in rank order, then `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { FormatError } from '@dampl/runtime';
import { cleanText } from './text-clean.js';
import { BPE_VOCAB_FILE, CLIP_MERGES, CONTEXT_LENGTH, EOT_TOKEN, SOT_TOKEN, buildTokenBatch } from './token-batch.js';
import type { ClipTokenizer, TokenBatch } from './types.js';

/**
 * GPT-2's reversible byte -> character table: printable Latin-1 bytes map to themselves, the
 * others to U+0100 upwards, so that no byte becomes whitespace or a control character.
 * `order` lists the bytes in the table's insertion order (printable ones first), which is the
 * order of the first 256 vocabulary entries.
 */
export function bytesToUnicode(): { chars: string[]; order: number[] } {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const chars = new Array<string>(256);
  for (const b of order) chars[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (chars[b] === undefined) {
      chars[b] = String.fromCharCode(256 + n++);
      order.push(b);
    }
  }
  return { chars, order };
}

/** Pieces of cleaned text that BPE sees: the specials, contractions, letter runs, single digits, other runs. */
export const PIECE_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;

export interface BpeVocab {
  /** Token string -> id, in id order. */
  vocab: string[];
  /** Merges in rank order, each "left right". */
  merges: string[];
}

/** A CLIP-style vocabulary from merges: 256 byte tokens, their `</w>` forms, the merges, SOT, EOT. */
export function bpeVocabFromMerges(merges: string[]): BpeVocab {
  const { chars, order } = bytesToUnicode();
  const bytes = order.map((b) => chars[b]!);
  return { vocab: [...bytes, ...bytes.map((c) => c + '</w>'), ...merges.map((m) => m.replace(' ', '')), SOT_TOKEN, EOT_TOKEN], merges };
}

/** Builds CLIP's vocabulary from the text of the merges file. */
function buildBpeVocab(mergesText: string, where = 'merges file'): BpeVocab {
  const lines = mergesText.split('\n');
  const merges = lines.slice(1, CLIP_MERGES + 1);
  if (merges.length !== CLIP_MERGES || merges.some((m) => m.split(' ').length !== 2)) {
    throw new FormatError(`${where}: expected ${CLIP_MERGES} merge lines "a b" after the header, found ${merges.length}`,
      `use CLIP's ${BPE_VOCAB_FILE} (the file shipped with openai/CLIP and open_clip)`);
  }
  return bpeVocabFromMerges(merges);
}

/** Reads a merges file, gzipped (`.gz`, as CLIP ships it) or plain text. */
export async function readBpeVocab(file: string): Promise<BpeVocab> {
  let raw = await readFile(file);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  return buildBpeVocab(raw.toString('utf8'), file);
}

export class BpeTokenizer implements ClipTokenizer {
  readonly sot: number;
  readonly eot: number;
  private readonly encoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly byteChars = bytesToUnicode().chars;
  private readonly utf8 = new TextEncoder();
  private readonly cache = new Map<string, number[]>();

  constructor(readonly bpe: BpeVocab, readonly source = 'bpe') {
    bpe.vocab.forEach((tok, i) => this.encoder.set(tok, i));
    bpe.merges.forEach((m, i) => this.ranks.set(m, i));
    this.sot = this.encoder.get(SOT_TOKEN)!;
    this.eot = this.encoder.get(EOT_TOKEN)!;
    this.cache.set(SOT_TOKEN, [this.sot]);
    this.cache.set(EOT_TOKEN, [this.eot]);
  }

  get vocabSize(): number {
    return this.bpe.vocab.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of cleanText(text).match(PIECE_PATTERN) ?? []) {
      let ids = this.cache.get(piece);
      if (!ids) {
        let chars = '';
        for (const b of this.utf8.encode(piece)) chars += this.byteChars[b];
        ids = this.merge(chars).map((t) => this.encoder.get(t)!);
        if (this.cache.size < 100_000) this.cache.set(piece, ids);
      }
      out.push(...ids);
    }
    return out;
  }

  tokenize(texts: string[], contextLength = CONTEXT_LENGTH): TokenBatch {
    return buildTokenBatch(texts.map((t) => this.encode(t)), this.sot, this.eot, contextLength);
  }

  /** Token strings of a byte-encoded word: repeatedly merge every occurrence of the lowest-ranked pair. */
  private merge(chars: string): string[] {
    let word = Array.from(chars);
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      const next: string[] = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }
}
