import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Rng, selectBackend } from '@dampl/runtime';
import { l2Normalize } from './losses.js';
import { PromptLearner, zeroShotTextFeatures, type PromptOptions } from './prompt.js';
import { FakeTextTower } from './testing/fake-tower.js';
import { BpeTokenizer, createClip, randomClipWeights, trainBpe, type ClipConfig } from '@dampl/clip';
import type { TextTower } from './types.js';

let tower: FakeTextTower;
beforeAll(async () => {
  await selectBackend('wasm');
  tower = new FakeTextTower({ width: 16, embedDim: 8, contextLength: 24 });
});
afterAll(() => tower.dispose());

const base: PromptOptions = { nCtx: 4, nDomainCtx: 3, csc: false, domainCsc: false, ctxInit: '', initStd: 0.02, classTemplate: '{class}.' };
const classes = ['apple', 'sea_lion'];
const domains = ['art', 'real_world'];
const embed = (ids: number[]) => tf.tidy(() => tower.embedTokens(tf.tensor2d(ids, [1, ids.length], 'int32'))).arraySync()[0]!;

describe('PromptLearner', () => {
  it('builds [SOS] v u^d <class> . [EOT] for every (domain, class), domain-major, cut after the last EOT', () => {
    const pl = new PromptLearner(tower, classes, domains, base, new Rng(1));
    const tok = tower.tokenizer;
    // 'apple .' + EOT: EOT at 1 + 4 + 3 + 2 = 10; 'sea lion .' + EOT: EOT at 11; L = 12
    expect(pl.eot).toEqual([10, 11, 10, 11]);
    expect(pl.L).toBe(12);
    const e = pl.embeddings();
    expect(e.shape).toEqual([4, 12, 16]);
    const rows = e.arraySync();
    const ctx = pl.ctx.arraySync() as number[][];
    const dom = pl.domainCtx.arraySync() as number[][][];
    const p = 1 * 2 + 1; // domain 'real_world', class 'sea_lion'
    expect(rows[p]![0]).toEqual(embed([tok.sot])[0]);
    for (let m = 0; m < 4; m++) expect(rows[p]![1 + m]).toEqual(ctx[m]);
    for (let n = 0; n < 3; n++) expect(rows[p]![5 + n]).toEqual(dom[1]![n]);
    const words = embed(tok.encode('sea lion.'));
    for (let i = 0; i < 3; i++) expect(rows[p]![8 + i]).toEqual(words[i]);
    expect(rows[p]![11]).toEqual(embed([tok.eot])[0]);
    // the other domain's prompt for the same class differs only in the domain context
    expect(rows[1]![8]).toEqual(rows[p]![8]);
    expect(rows[1]![5]).toEqual(dom[0]![0]);
    expect(pl.embeddings([1]).shape).toEqual([2, 12, 16]);
    expect(pl.eotIndex([1])).toEqual([10, 11]);
    const w = pl.textFeatures();
    expect(w.shape).toEqual([4, 8]);
    const norms = tf.tidy(() => tf.norm(w, 'euclidean', 1)).dataSync();
    for (const n of norms) expect(n).toBeCloseTo(1, 5);
    tf.dispose([e, w]);
    pl.dispose();
  });

  it('has class-specific context shapes with csc and domainCsc, and the template may name the domain', () => {
    const pl = new PromptLearner(tower, classes, domains, { ...base, csc: true, domainCsc: true, classTemplate: '{class}, a {domain} image.' }, new Rng(1));
    expect(pl.ctx.shape).toEqual([2, 4, 16]);
    expect(pl.domainCtx.shape).toEqual([2, 2, 3, 16]);
    const n = (s: string) => tower.tokenizer.encode(s).length;
    expect(pl.eot[3]).toBe(1 + 7 + n('sea lion, a real world image.'));
    const rows = pl.embeddings().arraySync();
    const ctx = pl.ctx.arraySync() as number[][][];
    const dom = pl.domainCtx.arraySync() as number[][][][];
    expect(rows[3]![1]).toEqual(ctx[1]![0]);
    expect(rows[2]![1]).toEqual(ctx[0]![0]);
    expect(rows[3]![5]).toEqual(dom[1]![1]![0]);
    pl.dispose();
  });

  it('initialises from words in the last slots, random before them, with DAPL std 0.02', () => {
    const pl = new PromptLearner(tower, classes, domains, { ...base, nCtx: 6, ctxInit: 'a photo of a' }, new Rng(1));
    const ctx = pl.ctx.arraySync() as number[][];
    const words = embed(tower.tokenizer.encode('a photo of a'));
    for (let i = 0; i < 4; i++) expect(ctx[2 + i]).toEqual(words[i]);
    expect(ctx[0]).not.toEqual(words[0]);
    pl.dispose();
    const big = new PromptLearner(tower, Array.from({ length: 40 }, (_, i) => `c${i}`), domains, { ...base, nCtx: 8, nDomainCtx: 8 }, new Rng(2));
    const v = big.ctx.dataSync() as Float32Array;
    const std = Math.sqrt(v.reduce((s: number, x: number) => s + x * x, 0) / v.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    big.dispose();
    expect(() => new PromptLearner(tower, classes, domains, { ...base, nCtx: 3, ctxInit: 'a photo of a' }, new Rng(1))).toThrow(/4 tokens but nCtx is 3/);
  });

  it('refuses prompts longer than the tower takes, naming the class', () => {
    expect(() => new PromptLearner(tower, ['apple', 'a very long class name indeed'], domains, { ...base, nCtx: 10, nDomainCtx: 6 }, new Rng(1)))
      .toThrow(ConfigError);
    expect(() => new PromptLearner(tower, ['apple', 'a very long class name indeed'], domains, { ...base, nCtx: 10, nDomainCtx: 6 }, new Rng(1)))
      .toThrow(/class 'a very long class name indeed'.*needs \d+ tokens; the text tower takes 24/);
  });

  it('back-propagates into the learned vectors only, and into a domain only through its prompts', () => {
    const pl = new PromptLearner(tower, classes, domains, base, new Rng(3));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(pl.textFeatures([0]), tf.range(0, 16).reshape([2, 8]))) as tf.Scalar, [pl.ctx, pl.domainCtx]);
    const gCtx = grads[pl.ctx.name]!.dataSync();
    const gDom = grads[pl.domainCtx.name]!.arraySync() as number[][][];
    expect(gCtx.some((g) => g !== 0)).toBe(true);
    expect(gDom[0]!.flat().some((g) => g !== 0)).toBe(true);
    expect(gDom[1]!.flat().every((g) => g === 0)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    pl.dispose();
  });

  it('has the gradients of the composed graph (tile, slice, concat) for every context layout and domain choice', () => {
    // reference: the prompts built op by op, which tfjs differentiates itself
    const composed = (pl: PromptLearner, ds: number[], o: PromptOptions, suffixes: tf.Tensor3D[]) => {
      const { K } = pl;
      const prefix = tf.tile(tower.embedTokens(tf.fill([1, 1], tower.tokenizer.sot, 'int32') as tf.Tensor2D), [K, 1, 1]);
      return tf.concat(ds.map((d) => {
        const v = o.csc ? pl.ctx : tf.tile(tf.expandDims(pl.ctx, 0), [K, 1, 1]);
        const u = o.domainCsc ? tf.squeeze(tf.slice(pl.domainCtx, [d, 0, 0, 0], [1, -1, -1, -1]), [0])
          : tf.tile(tf.slice(pl.domainCtx, [d, 0, 0], [1, -1, -1]), [K, 1, 1]);
        return tf.concat([prefix, v, u, suffixes[d]!], 1);
      }), 0) as tf.Tensor3D;
    };
    for (const layout of [{}, { csc: true }, { domainCsc: true }, { csc: true, domainCsc: true }]) {
      const o = { ...base, ...layout };
      const pl = new PromptLearner(tower, classes, domains, o, new Rng(3));
      // the frozen class rows, taken outside any tape
      const suffixes = [0, 1].map((d) => tf.tidy(() => tf.slice(pl.embeddings([d]), [0, 1 + o.nCtx + o.nDomainCtx, 0], [-1, -1, -1])));
      for (const ds of [[0, 1], [1], [1, 1], [1, 0]]) {
        const weights = tf.randomNormal([ds.length * 2, pl.L, 16], 0, 1, 'float32', 5);
        const loss = (build: () => tf.Tensor3D) => () => tf.sum(tf.mul(tf.square(build()), weights)) as tf.Scalar;
        const ours = tf.variableGrads(loss(() => pl.embeddings(ds)), [pl.ctx, pl.domainCtx]);
        const ref = tf.variableGrads(loss(() => composed(pl, ds, o, suffixes)), [pl.ctx, pl.domainCtx]);
        expect(ours.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0]!, 3);
        for (const name of Object.keys(ref.grads)) {
          const a = ours.grads[name]!.dataSync();
          const b = ref.grads[name]!.dataSync();
          expect(a.length).toBe(b.length);
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
          expect(worst, `${JSON.stringify(layout)} domains ${ds}`).toBeLessThan(1e-5);
          expect(tf.tidy(() => tf.sum(tf.abs(ours.grads[name]!))).dataSync()[0]).toBeGreaterThan(0);
        }
        tf.dispose([weights, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
      }
      tf.dispose(suffixes);
      pl.dispose();
    }
  });
});

describe('PromptLearner on a CLIP text tower, shared first tokens computed once', () => {
  it('gives the features and context gradients of the joined prompts for every context layout', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await selectBackend(backend);
      const names = ['apple', 'sea_lion', 'alarm_clock'];
      const words = [...names.map((n) => n.replace(/_/g, ' ')), 'art', 'real world', 'a photo of a.'];
      const tokenizer = new BpeTokenizer(trainBpe([...words, ...words], { minCount: 2 }), 'test bpe');
      const config: ClipConfig = {
        embedDim: 16,
        vision: { kind: 'vit', imageSize: 16, patchSize: 8, width: 32, layers: 1, heads: 2 },
        text: { contextLength: 40, vocabSize: tokenizer.vocabSize, width: 32, heads: 4, layers: 2 },
      };
      const clip = await createClip({ config, weights: randomClipWeights(config, 5, 0.1), tokenizer });
      // the same tower without encodeTextShared: prompts always joined
      const joined: TextTower = {
        config: clip.config, logitScale: clip.logitScale, weightsHash: clip.weightsHash, tokenizer: clip.tokenizer,
        encodeTextFromEmbeddings: (e, i) => clip.encodeTextFromEmbeddings(e, i),
        embedTokens: (t) => clip.embedTokens(t),
        weights: () => clip.weights(),
      };
      for (const layout of [{ csc: false, domainCsc: false }, { csc: true, domainCsc: false }, { csc: false, domainCsc: true }, { csc: true, domainCsc: true }]) {
        const o = { ...base, ...layout, nCtx: 3, nDomainCtx: 2, initStd: 0.5, classTemplate: '{class}, {domain}.' };
        const a = new PromptLearner(clip, names, ['art', 'real_world'], o, new Rng(7));
        const b = new PromptLearner(joined, names, ['art', 'real_world'], o, new Rng(7));
        expect(a.sharing(2)).toBeDefined();
        for (const ds of [[0, 1], [1]]) {
          const probe = tf.randomNormal([ds.length * 3, 16], 0, 1, 'float32', 9);
          const loss = (pl: PromptLearner) => () => tf.sum(tf.mul(pl.textFeatures(ds), probe)) as tf.Scalar;
          const ga = tf.variableGrads(loss(a), [a.ctx, a.domainCtx]);
          const gb = tf.variableGrads(loss(b), [b.ctx, b.domainCtx]);
          expect(Math.abs(ga.value.dataSync()[0]! - gb.value.dataSync()[0]!)).toBeLessThan(1e-4);
          for (const [va, vb] of [[a.ctx, b.ctx], [a.domainCtx, b.domainCtx]] as const) {
            const x = ga.grads[va.name]!.dataSync();
            const y = gb.grads[vb.name]!.dataSync();
            let worst = 0;
            let size = 0;
            for (let i = 0; i < x.length; i++) {
              worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
              size = Math.max(size, Math.abs(y[i]!));
            }
            expect(worst, `${backend} ${JSON.stringify(layout)} domains ${ds}`).toBeLessThan(1e-5 + 1e-4 * size);
            if (ds.length === 2 || va === a.ctx) expect(size).toBeGreaterThan(1e-4);
          }
          tf.dispose([probe, ga.value, gb.value, ...Object.values(ga.grads), ...Object.values(gb.grads)]);
        }
        a.dispose();
        b.dispose();
      }
      clip.dispose();
    }
    await selectBackend('wasm');
  });
});

describe('zeroShotTextFeatures', () => {
  it('encodes the filled templates (cut after EOT, same result), normalises, and averages an ensemble', () => {
    const one = zeroShotTextFeatures(tower, classes, ['a photo of a {class}.']);
    const direct = tf.tidy(() => {
      const b = tower.tokenizer.tokenize(['a photo of a apple.', 'a photo of a sea lion.']);
      return l2Normalize(tower.encodeTextFromEmbeddings(tower.embedTokens(tf.tensor2d(b.ids, b.shape, 'int32')), b.eot));
    });
    const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(one, direct)))).dataSync()[0]!;
    expect(maxDiff).toBeLessThan(1e-5);
    const two = zeroShotTextFeatures(tower, classes, ['a photo of a {class}.', 'a sketch of the {class}.']);
    const other = zeroShotTextFeatures(tower, classes, ['a sketch of the {class}.']);
    const expected = tf.tidy(() => l2Normalize(tf.add(one, other)));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(two, expected)))).dataSync()[0]).toBeLessThan(1e-5);
    expect(() => zeroShotTextFeatures(tower, classes, [])).toThrow(ConfigError);
    tf.dispose([one, direct, two, other, expected]);
  });
});
