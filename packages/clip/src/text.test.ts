import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DamplError, disableNativeKernels, enableNativeKernels, readSafetensors, selectBackend, toFloat32, toInt32 } from '@dampl/runtime';
import { createClip, randomClipWeights } from './model.js';
import { loadClip } from './load.js';
import type { ClipConfig, ClipModel } from './types.js';
import { clipReferenceDir } from './testing/reference.js';

const config: ClipConfig = {
  embedDim: 16,
  vision: { kind: 'vit', imageSize: 16, patchSize: 8, width: 32, layers: 1, heads: 2 },
  text: { contextLength: 77, vocabSize: 500, width: 48, heads: 4, layers: 2 },
};

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`prompt path on ${backend}`, () => {
    let model: ClipModel;
    beforeAll(async () => {
      await selectBackend(backend);
      model = await createClip({ config, weights: randomClipWeights(config, 7, 0.1) });
    });
    afterAll(() => model?.dispose());

    const eot = [5, 12, 30, 3, 40];
    const cut = Math.max(...eot) + 1;

    it('cutting prompts after the last EOT gives the same features as the full 77 positions', () => {
      tf.tidy(() => {
        const emb = tf.randomNormal([eot.length, 77, 48], 0, 1, 'float32', 3) as tf.Tensor3D;
        const full = model.encodeTextFromEmbeddings(emb, eot);
        const short = model.encodeTextFromEmbeddings(tf.slice(emb, [0, 0, 0], [eot.length, cut, 48]), tf.tensor1d(eot, 'int32'));
        expect(short.shape).toEqual([eot.length, 16]);
        expect(maxAbsDiff(full, short)).toBeLessThanOrEqual(1e-5);
        expect(tf.max(tf.abs(full)).dataSync()[0]).toBeGreaterThan(1e-2);
      });
    });

    it('gives the same gradient on the kept positions and none after each EOT', () => {
      tf.tidy(() => {
        const emb = tf.randomNormal([eot.length, 77, 48], 0, 1, 'float32', 4) as tf.Tensor3D;
        const probe = tf.randomNormal([eot.length, 16], 0, 1, 'float32', 5);
        const loss = (e: tf.Tensor) => tf.sum(tf.mul(model.encodeTextFromEmbeddings(e as tf.Tensor3D, eot), probe));
        const gFull = tf.grad(loss)(emb);
        const gShort = tf.grad(loss)(tf.slice(emb, [0, 0, 0], [eot.length, cut, 48]));
        expect(maxAbsDiff(tf.slice(gFull, [0, 0, 0], [eot.length, cut, 48]), gShort)).toBeLessThanOrEqual(1e-5);
        const g = gFull.arraySync() as number[][][];
        eot.forEach((e, p) => {
          expect(Math.max(...g[p]!.slice(e + 1).flat().map(Math.abs))).toBe(0);
          expect(Math.max(...g[p]![e]!.map(Math.abs))).toBeGreaterThan(0);
        });
      });
    });

    it('leaks no tensors through a forward and backward pass', () => {
      const emb = tf.randomNormal([2, 20, 48], 0, 1, 'float32', 6) as tf.Tensor3D;
      const before = tf.memory().numTensors;
      const g = tf.grad((e: tf.Tensor) => tf.sum(model.encodeTextFromEmbeddings(e as tf.Tensor3D, [4, 19])))(emb);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
      emb.dispose();
    });

    it('trains learned context vectors through tf.variableGrads', () => {
      const ctx = tf.variable(tf.randomNormal([4, 48], 0, 0.02, 'float32', 9));
      tf.tidy(() => {
        const tokens = tf.tensor2d([[499, 10, 11, 12, 13, 20, 498, 0], [499, 10, 11, 12, 13, 21, 22, 498]], [2, 8], 'int32');
        const emb = model.embedTokens(tokens); // [2, 8, 48]
        const { value, grads } = tf.variableGrads(() => {
          const prefix = tf.slice(emb, [0, 0, 0], [2, 1, 48]);
          const suffix = tf.slice(emb, [0, 5, 0], [2, 3, 48]);
          const mid = tf.broadcastTo(tf.expandDims(ctx, 0), [2, 4, 48]);
          const feats = model.encodeTextFromEmbeddings(tf.concat([prefix, mid, suffix], 1) as tf.Tensor3D, [6, 7]);
          return tf.sum(tf.square(feats)) as tf.Scalar;
        }, [ctx]);
        expect(value.dataSync()[0]).toBeGreaterThan(0);
        const g = grads[ctx.name]!;
        expect(g.shape).toEqual([4, 48]);
        expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
      });
      ctx.dispose();
    });

    for (const native of [true, false]) {
      it(`encodeTextShared equals the joined prompts, features and gradients (${native ? 'native kernels where they load' : 'tfjs kernels'})`, () => {
        if (!native) disableNativeKernels(backend);
        try {
          const [g, lp, b, lb] = [3, 4, 2, 6];
          const eotShared = [9, 4, 6, 8, 5, 7]; // per prompt, in [lp, lp + lb)
          for (const branchMajor of [true, false]) {
            tf.tidy(() => {
              const prefix = tf.randomNormal([g, lp, 48], 0, 1, 'float32', 11) as tf.Tensor3D;
              const branches = tf.randomNormal([g * b, lb, 48], 0, 1, 'float32', 12) as tf.Tensor3D;
              const probe = tf.randomNormal([g * b, 16], 0, 1, 'float32', 13);
              const groupOf = (j: number) => (branchMajor ? j % g : Math.floor(j / b));
              const joined = (pre: tf.Tensor, br: tf.Tensor) => tf.concat(Array.from({ length: g * b }, (_, j) =>
                tf.concat([tf.slice(pre, [groupOf(j), 0, 0], [1, lp, 48]), tf.slice(br, [j, 0, 0], [1, lb, 48])], 1)), 0) as tf.Tensor3D;
              const lossShared = (pre: tf.Tensor, br: tf.Tensor) => tf.sum(tf.mul(model.encodeTextShared(pre as tf.Tensor3D, br as tf.Tensor3D, branchMajor, eotShared), probe));
              const lossJoined = (pre: tf.Tensor, br: tf.Tensor) => tf.sum(tf.mul(model.encodeTextFromEmbeddings(joined(pre, br), eotShared), probe));
              const shared = model.encodeTextShared(prefix, branches, branchMajor, eotShared);
              expect(shared.shape).toEqual([g * b, 16]);
              expect(maxAbsDiff(shared, model.encodeTextFromEmbeddings(joined(prefix, branches), eotShared))).toBeLessThanOrEqual(1e-5);
              const [gp, gb] = tf.grads(lossShared)([prefix, branches]);
              const [jp, jb] = tf.grads(lossJoined)([prefix, branches]);
              expect(maxAbsDiff(gp!, jp!)).toBeLessThanOrEqual(1e-5);
              expect(maxAbsDiff(gb!, jb!)).toBeLessThanOrEqual(1e-5);
              expect(tf.max(tf.abs(gp!)).dataSync()[0]).toBeGreaterThan(1e-3);
            });
          }
          expect(() => model.encodeTextShared(tf.zeros([3, 4, 48]) as tf.Tensor3D, tf.zeros([6, 6, 48]) as tf.Tensor3D, true, [3, 4, 5, 6, 7, 8])).toThrow(/eotIndex\[0\] = 3 is outside the branches, \[4, 10\)/);
          expect(() => model.encodeTextShared(tf.zeros([4, 4, 48]) as tf.Tensor3D, tf.zeros([6, 6, 48]) as tf.Tensor3D, true, [4, 4, 4, 4, 4, 4])).toThrow(/do not make prompts/);
        } finally {
          if (!native) enableNativeKernels(backend);
        }
      });
    }

    it('encodeText picks EOT at the argmax token and accepts L < 77', () => {
      tf.tidy(() => {
        const tokens = tf.tensor2d([[499, 7, 8, 498, 0, 0], [499, 498, 0, 0, 0, 0]], [2, 6], 'int32');
        const short = model.encodeText(tokens);
        const padded = model.encodeText(tf.pad(tokens, [[0, 0], [0, 71]]) as tf.Tensor2D);
        expect(maxAbsDiff(short, padded)).toBeLessThanOrEqual(1e-5);
      });
    });

    it('rejects an EOT index outside the cut prompt, and a wrong width', () => {
      const emb = tf.zeros([2, 10, 48]) as tf.Tensor3D;
      expect(() => model.encodeTextFromEmbeddings(emb, [3, 10])).toThrow(DamplError);
      expect(() => model.encodeTextFromEmbeddings(emb, [3, 10])).toThrow(/eotIndex\[1\] = 10 is outside \[0, 10\)/);
      expect(() => model.encodeTextFromEmbeddings(emb, [3])).toThrow(/1 EOT indices for 2 prompts/);
      expect(() => model.encodeTextFromEmbeddings(tf.zeros([2, 10, 32]) as tf.Tensor3D, [3, 4])).toThrow(/expected \[P, L, 48\]/);
      emb.dispose();
    });
  });
}

describe('prompt path on the reference prompts, cut after the last EOT', () => {
  it('matches the full-length features within 1e-5 and the reference within its tolerance', async () => {
    await selectBackend('wasm');
    const dir = path.join(await clipReferenceDir(), 'vit-tiny');
    const model = await loadClip(path.join(dir, 'hf'));
    const { tensors: g } = await readSafetensors(path.join(dir, 'golden.safetensors'));
    const tokens = g.get('prompt_tokens')!;
    const ids = toInt32(tokens);
    const [p, l] = tokens.shape as [number, number];
    const eot = Array.from({ length: p }, (_, i) => {
      const row = Array.from(ids.subarray(i * l, (i + 1) * l));
      return row.indexOf(Math.max(...row));
    });
    const cut = Math.max(...eot) + 1;
    expect(cut).toBeLessThan(77);
    tf.tidy(() => {
      const e = g.get('prompt_embeddings')!;
      const emb = tf.tensor3d(toFloat32(e), e.shape as [number, number, number]);
      const full = model.encodeTextFromEmbeddings(emb, eot);
      const short = model.encodeTextFromEmbeddings(tf.slice(emb, [0, 0, 0], [p, cut, e.shape[2]!]), eot);
      expect(maxAbsDiff(full, short)).toBeLessThanOrEqual(1e-5);
      const want = toFloat32(g.get('prompt_text_features')!);
      const got = short.dataSync();
      want.forEach((b, i) => expect(Math.abs(got[i]! - b)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(b)));
    });
    model.dispose();
  });
});
