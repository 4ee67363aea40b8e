import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, schemaDefaults } from '@dampl/runtime';
import { methodDefaults } from '@dampl/core';
import { checkMethod, useToyProblem } from '@dampl/core/testing';
import { featureData } from '@dampl/core';
import { fitShotIm, methods, shotIm, shotImSchema } from './index.js';

const fx = useToyProblem({ beforeAll, afterAll });

describe('shot-im', () => {
  it('is what the package gives the bench', () => {
    expect(methods).toEqual([shotIm]);
    expect(shotIm.name).toBe('shot-im');
  });

  it("takes SHOT's settings, and the authors' per-dataset source epochs", () => {
    expect(schemaDefaults(shotImSchema)).toMatchObject({ sourceEpochs: 20, epochs: 15, batchSize: 64, lr: 0.01, labelSmoothing: 0.1, imWeight: 1 });
    expect(methodDefaults(shotIm, 'office-home')).toMatchObject({ sourceEpochs: 50, epochs: 15 });
    expect(methodDefaults(shotIm, 'visda-2017')).toMatchObject({ sourceEpochs: 10, lr: 1e-3 });
  });

  it('fulfils the method contract on the toy problem and beats chance', async () => {
    const r = await checkMethod(shotIm, { ...fx, overrides: { sourceEpochs: 20, epochs: 5, batchSize: 32, bottleneckDim: 32 } });
    expect(r.restored).toBe(true);
    expect(r.epochs).toBe(25);
    expect(r.evalAccuracy).toBeGreaterThan(r.chance);
  });

  it('lowers the IM loss on the target in stage 2', async () => {
    const cfg = { ...schemaDefaults(shotImSchema), sourceEpochs: 3, epochs: 4, bottleneckDim: 32 };
    const { history, model } = await fitShotIm(featureData(fx.toy), cfg, new Rng(0));
    const im = history.filter((h) => h.losses.im !== undefined).map((h) => h.losses.im!);
    expect(im).toHaveLength(4);
    expect(im.at(-1)!).toBeLessThan(im[0]!);
    model.dispose();
  });
});
