import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { BpeTokenizer, createClip, randomClipWeights, trainBpe, type ClipConfig, type ClipModel } from '@dampl/clip';
import type { TextTower } from './types.js';

/** Compile-time check (tsc, `nx run core:typecheck`): a real CLIP model is a TextTower. */
const asTextTower = (m: ClipModel): TextTower => m;

let clip: ClipModel;
beforeAll(async () => {
  await selectBackend('cpu');
  const words = ['a photo of a cat.', 'a photo of a dog.', 'a sketch of a cat.', 'a sketch of a dog.'];
  const tokenizer = new BpeTokenizer(trainBpe([...words, ...words], { minCount: 2 }), 'test bpe');
  const config: ClipConfig = {
    embedDim: 16,
    vision: { kind: 'vit', imageSize: 16, patchSize: 8, width: 32, layers: 1, heads: 2 },
    text: { contextLength: 20, vocabSize: tokenizer.vocabSize, width: 32, heads: 4, layers: 2 },
  };
  clip = await createClip({ config, weights: randomClipWeights(config, 3, 0.1), tokenizer });
});
afterAll(() => clip?.dispose());

describe('TextTower', () => {
  it("is what core reads of @dampl/clip's ClipModel: the prompt path gives CLIP's own text features", async () => {
    const tower = asTextTower(clip);
    const batch = tower.tokenizer.tokenize(['a photo of a cat.', 'a sketch of a dog.'], tower.config.text.contextLength);
    const [viaTower, viaClip] = tf.tidy(() => {
      const tokens = tf.tensor2d(batch.ids, batch.shape, 'int32');
      return [tower.encodeTextFromEmbeddings(tower.embedTokens(tokens), batch.eot), clip.encodeText(tokens)];
    });
    expect(viaTower.shape).toEqual([2, tower.config.embedDim]);
    const [a, b] = [await viaTower.data(), await viaClip.data()];
    tf.dispose([viaTower, viaClip]);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    // the towers' features differ between the two prompts (a tower that ignores its input would not)
    let diff = 0;
    for (let e = 0; e < tower.config.embedDim; e++) diff += Math.abs(a[e]! - a[tower.config.embedDim + e]!);
    expect(diff).toBeGreaterThan(1e-3);
    expect(tower.logitScale).toBeCloseTo(1 / 0.07, 4);
    expect([...tower.weights().values()].some((t) => t instanceof tf.Variable)).toBe(false);
  });
});
