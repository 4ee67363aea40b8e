/**
 * Zero-shot CLIP against OpenAI's own CLIP on the tiny golden model (packages/clip/reference/vit-tiny):
 * its image features are the "target features" and some of its golden texts the class names, so
 * the zero-shot predictions must be the argmax of the golden `logits_per_image` over those texts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, selectBackend, toFloat32 } from '@dampl/runtime';
import { loadClip, type ClipModel } from '@dampl/clip';
import { clipReferenceDir } from '@dampl/clip/testing';
import { fitMethod, methodDefaults, type FeatureMatrix } from '@dampl/core';
import { CLIP_IMAGENET_TEMPLATES, zeroShot, zeroShotEnsemble } from './zero-shot.js';


describe('templates', () => {
  it("holds CLIP's 80 ImageNet templates, each with one {class}", () => {
    expect(CLIP_IMAGENET_TEMPLATES).toHaveLength(80);
    expect(CLIP_IMAGENET_TEMPLATES[0]).toBe('a bad photo of a {class}.');
    expect(new Set(CLIP_IMAGENET_TEMPLATES).size).toBe(80);
    for (const t of CLIP_IMAGENET_TEMPLATES) expect(t.split('{class}')).toHaveLength(2);
    expect(methodDefaults(zeroShotEnsemble, 'office-home').templates).toEqual([...CLIP_IMAGENET_TEMPLATES]);
    expect(methodDefaults(zeroShot, 'office-home').templates).toEqual(['a photo of a {class}.']);
  });
});

describe('zero-shot CLIP on the tiny golden model (vit-tiny)', () => {
  let dir: string;
  let clip: ClipModel;
  let images: FeatureMatrix;
  let logits: Float32Array; // [N, T] golden logits_per_image
  let texts: string[];
  let T: number;

  beforeAll(async () => {
    await selectBackend('wasm');
    dir = await clipReferenceDir();
    clip = await loadClip(path.join(dir, 'vit-tiny', 'hf'), { tokenizer: path.join(dir, 'bpe_simple_vocab_16e6.txt.gz') });
    const { tensors } = await readSafetensors(path.join(dir, 'vit-tiny', 'golden.safetensors'));
    const f = tensors.get('image_features')!;
    images = { data: toFloat32(f), rows: f.shape[0]!, dim: f.shape[1]! };
    logits = toFloat32(tensors.get('logits_per_image')!);
    texts = (JSON.parse(readFileSync(path.join(dir, 'vit-tiny', 'golden.json'), 'utf8')) as { texts: string[] }).texts;
    T = texts.length;
  });

  afterAll(() => clip?.dispose());

  // as class names with the template '{class}' the texts must reach the tokenizer unchanged: fillTemplate
  // writes underscores as spaces, so the text with 'real_world' is left out
  const usable = () => texts.map((t, i) => [t, i] as const).filter(([t]) => !t.includes('_'));

  const run = async (columns: number[], templates: string[]) => {
    const result = await fitMethod(zeroShot, {
      source: images, sourceLabels: new Int32Array(images.rows), target: images,
      classNames: columns.map((c) => texts[c]!), domainNames: ['a', 'b'], clip,
      config: { templates, evalBatch: 2 }, seed: 0,
    });
    const p = await result.predict(images);
    result.dispose();
    return p;
  };

  it('predicts the argmax of the golden logits over every subset of the texts', async () => {
    const cols = usable().map(([, i]) => i);
    expect(cols.length).toBeGreaterThanOrEqual(4);
    let checked = 0;
    for (let mask = 1; mask < 1 << cols.length; mask++) {
      const subset = cols.filter((_, j) => mask & (1 << j));
      if (subset.length < 2) continue;
      const { labels, probs } = await run(subset, ['{class}']);
      for (let n = 0; n < images.rows; n++) {
        const row = subset.map((c) => logits[n * T + c]!);
        expect(labels[n]).toBe(row.indexOf(Math.max(...row)));
        // probabilities: softmax of the golden logits (s * cos), within the golden tolerance
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        row.forEach((v, k) => expect(Math.abs(probs[n * subset.length + k]! - Math.exp(v - m) / z)).toBeLessThan(1e-3));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3 * 11);
  });

  it('equals the hand computation from normalised features, and an ensemble of one repeated template equals it', async () => {
    const { tensors } = await readSafetensors(path.join(dir, 'vit-tiny', 'golden.safetensors'));
    const text = toFloat32(tensors.get('text_features')!);
    const E = images.dim;
    const norm = (v: Float32Array, r: number) => {
      const x = v.subarray(r * E, (r + 1) * E);
      const n = Math.hypot(...x);
      return Array.from(x, (a) => a / n);
    };
    const cols = usable().map(([, i]) => i);
    const single = await run(cols, ['{class}']);
    const twice = await run(cols, ['{class}', '{class}']);
    expect(Array.from(twice.labels)).toEqual(Array.from(single.labels));
    for (let n = 0; n < images.rows; n++) {
      const x = norm(images.data, n);
      const cos = cols.map((c) => norm(text, c).reduce((a, w, e) => a + w * x[e]!, 0));
      expect(single.labels[n]).toBe(cos.indexOf(Math.max(...cos)));
      for (let k = 0; k < cols.length; k++) expect(twice.probs[n * cols.length + k]).toBeCloseTo(single.probs[n * cols.length + k]!, 5);
    }
  });
});
