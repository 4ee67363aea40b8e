/**
 * CLIP's byte-level BPE tokenizer, from either of two sources:
 *
 *   - OpenAI's merges file `bpe_simple_vocab_16e6.txt.gz` (the `simple_tokenizer.py` of openai/CLIP,
 *     ported here), or
 *   - a Hugging Face model directory's `tokenizer.json`, run by @xenova/transformers.
 *
 * Both apply OpenAI's text cleaning first, so both give the same ids: NFC normalisation, HTML
 * entities unescaped twice, whitespace runs collapsed to one space, stripped, lowercased.
 * OpenAI also runs `ftfy.fix_text`, which repairs mojibake ("cafÃ©" -> "café"); there is no port
 * of ftfy here, so input text is assumed to be valid Unicode already (ftfy's own NFC step is kept).
 *
 * Vocabulary (49408 ids): the 256 byte characters, the same 256 with `</w>` (end of word), the
 * 48894 merges in rank order, then `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FormatError, DamplError, atomicWriteFile, workspaceRoot } from '@dampl/runtime';
import type { ClipTokenizer, TokenBatch } from './types.js';

export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
export const CONTEXT_LENGTH = 77;
/** Merges used by CLIP: lines 1..48894 of the merges file (line 0 is a version header). */
export const CLIP_MERGES = 49152 - 256 - 2;
export const BPE_VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';
/** CLIP's BPE vocabulary as committed in packages/clip/assets (openai/CLIP, MIT: LICENSE-openai-CLIP beside it). */
export const CLIP_BPE_VOCAB = path.join(workspaceRoot, 'packages', 'clip', 'assets', BPE_VOCAB_FILE);

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

// ---------------------------------------------------------------------------------------------
// Text cleaning

/**
 * Named character references understood by `htmlUnescape`: the HTML 4 set (Latin-1, symbols,
 * Greek, specials) plus `apos`, with HTML5's code points. Python's `html.unescape` knows all
 * 2231 HTML5 names; a name outside this table is left as written.
 */
const LATIN1_NAMES = ('nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg '
  + 'plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute '
  + 'Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve '
  + 'Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc '
  + 'atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute '
  + 'ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml').split(' ');
const GREEK_UPPER = 'Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho _ Sigma Tau Upsilon Phi Chi Psi Omega'.split(' ');
const GREEK_LOWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf sigma tau upsilon phi chi psi omega'.split(' ');
const OTHER_NAMES = 'quot 34 amp 38 apos 39 lt 60 gt 62 OElig 338 oelig 339 Scaron 352 scaron 353 Yuml 376 fnof 402 '
  + 'circ 710 tilde 732 thetasym 977 upsih 978 piv 982 ensp 8194 emsp 8195 thinsp 8201 zwnj 8204 zwj 8205 lrm 8206 '
  + 'rlm 8207 ndash 8211 mdash 8212 lsquo 8216 rsquo 8217 sbquo 8218 ldquo 8220 rdquo 8221 bdquo 8222 dagger 8224 '
  + 'Dagger 8225 bull 8226 hellip 8230 permil 8240 prime 8242 Prime 8243 lsaquo 8249 rsaquo 8250 oline 8254 '
  + 'frasl 8260 euro 8364 image 8465 weierp 8472 real 8476 trade 8482 alefsym 8501 larr 8592 uarr 8593 rarr 8594 '
  + 'darr 8595 harr 8596 crarr 8629 lArr 8656 uArr 8657 rArr 8658 dArr 8659 hArr 8660 forall 8704 part 8706 '
  + 'exist 8707 empty 8709 nabla 8711 isin 8712 notin 8713 ni 8715 prod 8719 sum 8721 minus 8722 lowast 8727 '
  + 'radic 8730 prop 8733 infin 8734 ang 8736 and 8743 or 8744 cap 8745 cup 8746 int 8747 there4 8756 sim 8764 '
  + 'cong 8773 asymp 8776 ne 8800 equiv 8801 le 8804 ge 8805 sub 8834 sup 8835 nsub 8836 sube 8838 supe 8839 '
  + 'oplus 8853 otimes 8855 perp 8869 sdot 8901 lceil 8968 rceil 8969 lfloor 8970 rfloor 8971 lang 10216 '
  + 'rang 10217 loz 9674 spades 9824 clubs 9827 hearts 9829 diams 9830';

/** name (without ';') -> text. */
const ENTITIES = new Map<string, string>();
/** Names HTML5 also accepts without the ';' (legacy entities). */
const LEGACY = new Set<string>(['amp', 'lt', 'gt', 'quot', 'AMP', 'LT', 'GT', 'QUOT', 'COPY', 'REG']);
LATIN1_NAMES.forEach((name, i) => { ENTITIES.set(name, String.fromCharCode(160 + i)); LEGACY.add(name); });
GREEK_UPPER.forEach((name, i) => { if (name !== '_') ENTITIES.set(name, String.fromCharCode(913 + i)); });
GREEK_LOWER.forEach((name, i) => ENTITIES.set(name, String.fromCharCode(945 + i)));
{
  const parts = OTHER_NAMES.split(' ');
  for (let i = 0; i < parts.length; i += 2) ENTITIES.set(parts[i]!, String.fromCodePoint(Number(parts[i + 1])));
  for (const [upper, lower] of [['AMP', 'amp'], ['LT', 'lt'], ['GT', 'gt'], ['QUOT', 'quot'], ['COPY', 'copy'], ['REG', 'reg']] as const) {
    ENTITIES.set(upper, ENTITIES.get(lower)!);
  }
}

/** Numeric references to C1 controls mean their Windows-1252 characters (HTML5, as Python does). */
const WIN1252: Record<number, number> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
  0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018,
  0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc,
  0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};

function numericReference(num: number): string {
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return String.fromCodePoint(WIN1252[num] ?? num);
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  const invalid = (num >= 0x1 && num <= 0x8) || num === 0xb || (num >= 0xe && num <= 0x1f) || num === 0x7f
    || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(num);
}

/**
 * Python's `html.unescape`: numeric references (decimal and hex, `;` optional) and named
 * references; a legacy name may lack its `;` and may be the prefix of a longer run ("&ampx").
 */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
      const num = parseInt(digits, hex ? 16 : 10);
      return numericReference(Number.isFinite(num) ? num : 0x110000);
    }
    if (ref.endsWith(';')) {
      const hit = ENTITIES.get(ref.slice(0, -1));
      if (hit !== undefined) return hit;
    }
    // Longest legacy name at the start of the run, the rest kept as written.
    for (let n = Math.min(ref.length, 32); n >= 2; n--) {
      const name = ref.slice(0, n);
      if (LEGACY.has(name)) return ENTITIES.get(name)! + ref.slice(n);
    }
    return whole;
  });
}

/** Unicode White_Space, the class Python's `regex` module uses for `\s` in CLIP's patterns. */
const WS_RUN = /[\p{White_Space}]+/gu;

/**
 * OpenAI's cleaning: (ftfy's NFC), `html.unescape` twice, strip, whitespace runs to one space,
 * strip, lowercase.
 */
export function cleanText(text: string): string {
  let t = text.normalize('NFC');
  t = htmlUnescape(htmlUnescape(t));
  return t.replace(WS_RUN, ' ').trim().toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Token batches

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

// ---------------------------------------------------------------------------------------------
// Source (a): OpenAI's merges file

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
export function buildBpeVocab(mergesText: string, where = 'merges file'): BpeVocab {
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

// ---------------------------------------------------------------------------------------------
// Source (b): a Hugging Face tokenizer.json through @xenova/transformers

interface XenovaTokenizer {
  encode(text: string, pair?: string | null, opts?: { add_special_tokens?: boolean }): number[];
  model: { tokens_to_ids: Map<string, number> };
}

export class HfTokenizer implements ClipTokenizer {
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

async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
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

// ---------------------------------------------------------------------------------------------
// Writing the Hugging Face files

/** The pre-tokenizer split of Hugging Face's CLIPTokenizerFast (same pieces as PIECE_PATTERN). */
const HF_SPLIT_REGEX = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

const addedToken = (id: number, content: string, normalized: boolean) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true,
});

/** The `tokenizer.json` object of a CLIP vocabulary, laid out as Hugging Face publishes it. */
export function hfTokenizerJson(bpe: BpeVocab): Record<string, unknown> {
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
