/**
 * The committed copy of OpenAI's CLIP references (packages/clip/reference, CLIP's BPE vocabulary
 * in packages/clip/assets) against the originals in ../shared/reference/clip:
 * `nx run clip:test:shared`, which needs that folder (DAMPL_SHARED names another place).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, sharedReferenceDir, toFloat32 } from '@dampl/runtime';
import { CLIP_BPE_VOCAB } from '../token-batch.js';
import { CLIP_REFERENCE_SOURCE, SLIM_CHECKPOINTS, fullTensors, referenceTokenIds } from './reference.js';

const ref = sharedReferenceDir();
if (!ref) throw new Error('clip:test:shared compares the committed references with ../shared/reference: it needs that folder beside the checkout, or DAMPL_SHARED set to the folder holding reference/');
const shared = path.join(ref, 'clip');

describe('the committed CLIP references are the originals', () => {
  it('byte for byte: the goldens, the HF config and the BPE vocabulary', () => {
    for (const f of ['tokenizer/golden.json', 'vit-tiny/golden.json', 'vit-tiny/golden.safetensors', 'vit-tiny/hf/config.json', 'rn-tiny/golden.json', 'rn-tiny/golden.safetensors']) {
      expect(readFileSync(path.join(CLIP_REFERENCE_SOURCE, f)).equals(readFileSync(path.join(shared, f))), f).toBe(true);
    }
    expect(readFileSync(CLIP_BPE_VOCAB).equals(readFileSync(path.join(shared, 'bpe_simple_vocab_16e6.txt.gz')))).toBe(true);
  });

  it.each(SLIM_CHECKPOINTS.map((c) => [c.file, c.embedding]))('%s: every tensor, and the token rows the goldens use', async (file, embedding) => {
    const original = (await readSafetensors(path.join(shared, file))).tensors;
    const slim = await readSafetensors(path.join(CLIP_REFERENCE_SOURCE, file.replace(/\.safetensors$/, '.slim.safetensors')));
    const restored = fullTensors(slim.tensors, slim.metadata);
    expect([...restored.keys()].sort()).toEqual([...original.keys()].sort());
    const ids = await referenceTokenIds(shared);
    for (const [name, t] of original) {
      const mine = restored.get(name)!;
      expect(mine.shape, name).toEqual(t.shape);
      const [a, b] = [toFloat32(mine), toFloat32(t)];
      if (name !== embedding) {
        expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
      } else {
        const W = t.shape[1]!;
        for (const id of ids) expect(Array.from(a.subarray(id * W, (id + 1) * W)), `${name} row ${id}`).toEqual(Array.from(b.subarray(id * W, (id + 1) * W)));
      }
    }
  });
});
