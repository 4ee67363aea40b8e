import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_REFERENCE_SOURCE } from './testing/reference.js';
import { loadTokenizer } from './tokenizer.js';
import { BpeTokenizer, bytesToUnicode } from './bpe.js';
import { writeHfTokenizerFiles } from './hf-tokenizer.js';
import { cleanText, htmlUnescape } from './text-clean.js';
import { CLIP_BPE_VOCAB, buildTokenBatch } from './token-batch.js';
import type { ClipTokenizer } from './types.js';

interface GoldenCase { text: string; ids: number[]; tokens77: number[] }

// CLIP's vocabulary and the ids openai/CLIP's simple_tokenizer.py gives (committed copies)
const bpePath = CLIP_BPE_VOCAB;
const golden = JSON.parse(readFileSync(path.join(CLIP_REFERENCE_SOURCE, 'tokenizer', 'golden.json'), 'utf8')) as { sot: number; eot: number; cases: GoldenCase[] };

describe('text cleaning', () => {
  it('unescapes HTML like Python html.unescape', () => {
    expect(htmlUnescape('a &amp; b &lt;i&gt; &quot;x&quot; &#39;y&#x27;')).toBe('a & b <i> "x" \'y\'');
    expect(htmlUnescape('caf&eacute; &hellip; &euro;5 &#128512;')).toBe('café … €5 😀');
    expect(htmlUnescape('&ampfoo &notit; &nosuch; & alone &#150;')).toBe('&foo ¬it; &nosuch; & alone \u2013');
    expect(htmlUnescape('&#0; &#xD800; &#1;x')).toBe('\ufffd \ufffd x');
  });

  it('unescapes twice, collapses whitespace, strips and lowercases', () => {
    expect(cleanText('  A&amp;amp;B \t\n\u00a0 C  ')).toBe('a&b c');
    expect(cleanText('Cafe\u0301')).toBe('café');
  });
});

describe('byte table', () => {
  it('maps 256 bytes to distinct non-space characters', () => {
    const { chars, order } = bytesToUnicode();
    expect(new Set(chars).size).toBe(256);
    expect(chars[0x61]).toBe('a');
    expect(chars[0x20]).toBe('\u0120');
    expect(new Set(order).size).toBe(256);
    expect(order.slice(0, 2)).toEqual([0x21, 0x22]);
  });
});

describe('token batches', () => {
  it('pads with zeros and truncates to context-1 tokens plus EOT', () => {
    const b = buildTokenBatch([[5, 6], Array.from({ length: 10 }, () => 7)], 1, 9, 6);
    expect(b.shape).toEqual([2, 6]);
    expect(Array.from(b.ids)).toEqual([1, 5, 6, 9, 0, 0, 1, 7, 7, 7, 7, 9]);
    expect(b.eot).toEqual([3, 5]);
  });
});

function checkGolden(tok: ClipTokenizer): void {
  expect(tok.sot).toBe(golden.sot);
  expect(tok.eot).toBe(golden.eot);
  for (const c of golden.cases) {
    expect(tok.encode(c.text), c.text).toEqual(c.ids);
  }
  const batch = tok.tokenize(golden.cases.map((c) => c.text), 77);
  expect(batch.shape).toEqual([golden.cases.length, 77]);
  golden.cases.forEach((c, i) => {
    const row = Array.from(batch.ids.subarray(i * 77, (i + 1) * 77));
    expect(row, c.text).toEqual(c.tokens77);
    expect(batch.eot[i]).toBe(c.tokens77.indexOf(golden.eot));
  });
}

describe('BPE tokenizer from CLIP merges file', () => {
  it('reproduces the golden ids and 77-token rows', async () => {
    const tok = await loadTokenizer(bpePath);
    expect(tok).toBeInstanceOf(BpeTokenizer);
    expect((tok as BpeTokenizer).vocabSize).toBe(49408);
    checkGolden(tok);
  });

  it('loads from a directory holding the merges file, and names what is missing otherwise', async () => {
    const tok = await loadTokenizer(path.dirname(bpePath));
    expect(tok.encode('a photo of a dog.')).toEqual((await loadTokenizer(bpePath)).encode('a photo of a dog.'));
    const empty = mkdtempSync(path.join(os.tmpdir(), 'tok-empty-'));
    try {
      await expect(loadTokenizer(empty)).rejects.toThrow(/neither tokenizer.json nor bpe_simple_vocab/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('Hugging Face tokenizer.json through @xenova/transformers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tok-hf-'));
    await writeHfTokenizerFiles(dir, bpePath);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the files of a CLIP tokenizer in HF layout', () => {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json']) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    const tj = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    expect(tj.model.type).toBe('BPE');
    expect(tj.model.end_of_word_suffix).toBe('</w>');
    expect(Object.keys(tj.model.vocab)).toHaveLength(49408);
    expect(tj.model.merges).toHaveLength(48894);
    expect(JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).tokenizer_class).toBe('CLIPTokenizer');
  });

  it('reproduces the golden ids and 77-token rows', async () => {
    checkGolden(await loadTokenizer(dir));
  });

  it('loads from the tokenizer.json path too', async () => {
    const tok = await loadTokenizer(path.join(dir, 'tokenizer.json'));
    expect(tok.encode('html &amp;amp; entities')).toEqual([18231, 261, 38134]);
  });
});
