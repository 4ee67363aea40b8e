import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitMethod, getMethod, listMethods, methodDefaults, resolveMethodConfig, validateConfig } from '@dampl/core';
import { checkMethod, useToyProblem } from '@dampl/core/testing';
import { daplAsDampl, dapl, methods } from './index.js';

const NAMES = ['zero-shot', 'zero-shot-ensemble', 'coop', 'linear-probe', 'source-only', 'dapl', 'dann', 'dan', 'cdan', 'mcc'];
const DATASETS = ['office-home', 'mini-domainnet', 'visda-2017', 'synth', 'some-other-dataset'];

/** Small settings so that each method runs in a second or two on the toy problem. */
const FAST: Record<string, Record<string, unknown>> = {
  'zero-shot-ensemble': { templates: ['a photo of a {class}.', 'a sketch of the {class}.', 'art of a {class}.'] },
  coop: { nCtx: 4, epochs: 3, optimizer: 'adam', lr: 0.01, warmupEpochs: 0 },
  dapl: { nCtx: 4, nDomainCtx: 4, epochs: 2, optimizer: 'adam', lr: 0.01, warmupEpochs: 0 },
  'linear-probe': { maxIter: 200 },
  'source-only': { epochs: 3, itersPerEpoch: 30, bottleneckDim: 32 },
  dann: { epochs: 3, itersPerEpoch: 30, bottleneckDim: 32, discriminatorWidth: 64 },
  dan: { epochs: 3, itersPerEpoch: 30, bottleneckDim: 32 },
  cdan: { epochs: 3, itersPerEpoch: 30, bottleneckDim: 32, discriminatorWidth: 64, entropyConditioning: true },
  mcc: { epochs: 3, itersPerEpoch: 30, bottleneckDim: 32 },
};

const fx = useToyProblem({ beforeAll, afterAll });

describe('registry', () => {
  it('registers every baseline by name on import', () => {
    const registered = listMethods().map((m) => m.name);
    for (const n of NAMES) expect(registered).toContain(n);
    expect(methods.map((m) => m.name).slice(0, NAMES.length)).toEqual(NAMES);
    for (const n of NAMES) expect(getMethod(n).name).toBe(n);
  });

  it('gives valid defaults for every dataset, and rejects unknown keys by name', async () => {
    for (const m of methods) {
      for (const ds of DATASETS) {
        const cfg = methodDefaults(m, ds) as Record<string, unknown>;
        expect(() => validateConfig(m.configSchema, cfg, `${m.name}/${ds}`)).not.toThrow();
      }
      await expect(resolveMethodConfig(m, { dataset: 'synth', overrides: { notAKey: 1 } })).rejects.toThrow(/notAKey/);
    }
  });

  it('takes the published recipes per dataset', () => {
    const dann = getMethod<Record<string, unknown>>('dann');
    expect(methodDefaults(dann, 'office-home')).toMatchObject({ epochs: 30, itersPerEpoch: 1000, lr: 0.01, weightDecay: 1e-3, bottleneckDim: 256, discriminatorWidth: 1024, grlAlpha: 10 });
    expect(methodDefaults(dann, 'visda-2017')).toMatchObject({ epochs: 30 });
    expect(methodDefaults(dann, 'mini-domainnet')).toMatchObject({ bottleneckDim: 1024, epochs: 30, itersPerEpoch: 2500 });
    expect(methodDefaults(getMethod('dan'), 'office-home')).toMatchObject({ epochs: 20, itersPerEpoch: 500, lr: 0.003, lrGamma: 0.0003, weightDecay: 5e-4, linear: true, kernelMinExp: -3, kernelMaxExp: 1 });
    expect(methodDefaults(getMethod('coop'), 'office-home')).toMatchObject({ nCtx: 16, csc: false, lr: 0.002, epochs: 50, warmupType: 'constant', warmupLr: 1e-5 });
    expect(methodDefaults(getMethod('linear-probe'), 'synth')).toMatchObject({ C: 0.316, maxIter: 1000, solver: 'lbfgs' });
  });

  it('takes DAPL\'s released settings and runs DAMPL without correction or IM', () => {
    const cfg = methodDefaults(dapl, 'office-home');
    expect(cfg).toMatchObject({ nCtx: 16, nDomainCtx: 16, csc: true, tau: 0.5, temperature: 1, mu: 1, lr: 3e-3, epochs: 25, classTemplate: '{class} , a {domain} image..' });
    expect(daplAsDampl(cfg)).toMatchObject({ correction: 'none', beta: 0, nCtx: 16, tau: 0.5 });
    expect('beta' in cfg || 'correction' in cfg).toBe(false);
  });
});

describe('linear probe', () => {
  const fit = (overrides: Record<string, unknown>) => resolveMethodConfig(getMethod('linear-probe'), { dataset: 'synth', overrides })
    .then((config) => fitMethod(getMethod('linear-probe'), {
      source: fx.toy.source, sourceLabels: fx.toy.sourceLabels, target: fx.toy.target, classNames: fx.toy.classNames, domainNames: fx.toy.domainNames, config, seed: 0,
    }));

  it('converges to the optimum of its objective with a given C, and chooses C on held-out source features', async () => {
    const fixed = await fit({ search: 'none', C: 1 });
    expect(fixed.history[0]!.extra).toMatchObject({ C: 1, converged: 1 });
    const searched = await fit({});
    const extra = searched.history[0]!.extra!;
    expect(extra.C).toBeGreaterThanOrEqual(1e-3);
    expect(extra.C).toBeLessThanOrEqual(1e4);
    expect(extra.candidates).toBeGreaterThanOrEqual(8);
    expect(extra.valAccuracy).toBeGreaterThan(0.9);
    const src = (await searched.predict(fx.toy.source)).labels;
    expect(src.filter((k, i) => k === fx.toy.sourceLabels[i]).length / src.length).toBeGreaterThan(0.9);
  });
});

describe('every baseline on the toy problem', () => {
  for (const name of NAMES) {
    it(`${name} runs, reports its history and gives valid probabilities that survive restore`, async () => {
      const r = await checkMethod(getMethod(name), { ...fx, overrides: FAST[name] ?? {} });
      expect(r.restored).toBe(true);
      expect(r.evalAccuracy).toBeGreaterThan(r.chance);
    });
  }
});
