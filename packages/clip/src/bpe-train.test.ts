import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainBpe } from './bpe-train.js';
import { loadTokenizer } from './tokenizer.js';
import { BpeTokenizer } from './bpe.js';
import { writeHfTokenizerFiles } from './hf-tokenizer.js';

const corpus = [
  'a photo of a red house.', 'a sketch of a house', 'a clipart image of a blue car.', 'a painting of a green car',
  'a photo of a tree.', 'a sketch of a red tree', 'a photo of a house.', 'a clipart image of a car.',
];

describe('trainBpe', () => {
  it('learns whole-word tokens for frequent words, deterministically', () => {
    const a = trainBpe(corpus);
    expect(trainBpe(corpus)).toEqual(a);
    const tok = new BpeTokenizer(a);
    for (const w of ['photo', 'house', 'car', 'sketch']) expect(tok.encode(w)).toHaveLength(1);
    expect(tok.eot).toBe(a.vocab.length - 1);
    expect(tok.sot).toBe(a.vocab.length - 2);
    // words never seen still tokenize, byte by byte at worst, and round-trip through the vocabulary
    const ids = tok.encode('zebra!');
    expect(ids.length).toBeGreaterThan(1);
    expect(ids.map((i) => a.vocab[i]).join('').replace(/<\/w>/g, '')).toBe('zebra!');
    expect(a.vocab.length).toBeLessThan(700);
  });

  it('saves as a Hugging Face tokenizer.json that loads and gives the same ids', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bpe-'));
    try {
      const vocab = trainBpe(corpus);
      await writeHfTokenizerFiles(dir, vocab);
      const hf = await loadTokenizer(dir);
      const bpe = new BpeTokenizer(vocab);
      for (const t of [...corpus, 'an unseen painting of a zebra', 'HOUSE  car']) expect(hf.encode(t)).toEqual(bpe.encode(t));
      expect(hf.tokenize(['a red car'], 77).ids).toEqual(bpe.tokenize(['a red car'], 77).ids);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
