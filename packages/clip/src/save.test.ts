import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { trainBpe } from './bpe-train.js';
import { loadClip } from './load.js';
import { clipVariables, createClip, randomClipWeights } from './model.js';
import { saveClipHf } from './save.js';
import { clipContrastiveLoss } from './train/contrastive.js';
import type { ClipConfig } from './types.js';

const config: ClipConfig = {
  embedDim: 16,
  vision: { kind: 'vit', imageSize: 16, patchSize: 4, width: 32, layers: 2, heads: 2 },
  text: { contextLength: 77, vocabSize: 0, width: 24, heads: 2, layers: 2 },
};
const corpus = ['a photo of a red house', 'a sketch of a car', 'a painting of a tree'];
const vocab = trainBpe(corpus);
config.text.vocabSize = vocab.vocab.length;

let dir: string;
beforeAll(async () => {
  await selectBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'clip-save-'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('trainable CLIP and the Hugging Face writer', () => {
  it('a trainable model computes what the frozen one does, and trains every weight', async () => {
    const frozen = await createClip({ config, weights: randomClipWeights(config, 3, 0.2) });
    const trainable = await createClip({ config, weights: randomClipWeights(config, 3, 0.2), trainable: true });
    const x = tf.randomNormal([4, 3, 16, 16], 0, 1, 'float32', 1) as tf.Tensor4D;
    const tok = tf.tensor2d([[vocab.vocab.length - 2, 5, 6, vocab.vocab.length - 1], [vocab.vocab.length - 2, 7, vocab.vocab.length - 1, 0]], [2, 4], 'int32');
    expect(maxDiff(trainable.encodeImage(x), frozen.encodeImage(x))).toBeLessThan(1e-5);
    expect(maxDiff(trainable.encodeText(tok), frozen.encodeText(tok))).toBeLessThan(1e-5);
    const vars = clipVariables(trainable);
    expect(clipVariables(frozen).size).toBe(0);
    expect([...vars.keys()].sort()).toEqual([...frozen.weights().keys()].sort());
    const pairs = tf.tensor2d([[vocab.vocab.length - 2, 5, 6, vocab.vocab.length - 1], [vocab.vocab.length - 2, 7, 8, vocab.vocab.length - 1],
      [vocab.vocab.length - 2, 9, vocab.vocab.length - 1, 0], [vocab.vocab.length - 2, 10, 11, vocab.vocab.length - 1]], [4, 4], 'int32');
    const { grads, value } = tf.variableGrads(() => clipContrastiveLoss(trainable.encodeImage(x), trainable.encodeText(pairs), vars.get('logit_scale')!), [...vars.values()]);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    // every weight used by these inputs gets a gradient (token rows not in the batch get zeros)
    for (const [name, v] of vars) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      if (!name.startsWith('token_embedding') && !name.startsWith('positional_embedding')) {
        expect(tf.max(tf.abs(g!)).dataSync()[0], name).toBeGreaterThan(0);
      }
    }
    frozen.dispose();
    trainable.dispose();
  });

  it('saves in Hugging Face layout and loads back to the same outputs', async () => {
    const model = await createClip({ config, weights: randomClipWeights(config, 7, 0.2), trainable: true });
    await saveClipHf(dir, model, { vocab, provenance: { test: true } });
    const back = await loadClip(dir);
    const x = tf.randomNormal([2, 3, 16, 16], 0, 1, 'float32', 2) as tf.Tensor4D;
    expect(maxDiff(back.encodeImage(x), model.encodeImage(x))).toBeLessThan(1e-5);
    const t = back.tokenizer.tokenize(['a red car'], 77);
    const tok = tf.tensor2d(t.ids, t.shape, 'int32');
    expect(maxDiff(back.encodeText(tok), model.encodeText(tok))).toBeLessThan(1e-5);
    expect(back.logitScale).toBeCloseTo(model.logitScale, 5);
    model.dispose();
    back.dispose();
  });
});
