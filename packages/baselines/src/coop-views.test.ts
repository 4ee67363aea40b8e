import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dampl/runtime';
import { methodDefaults, type FeatureMatrix } from '@dampl/core';
import { useToyProblem } from '@dampl/core/testing';
import { coop } from './coop.js';

const fx = useToyProblem({ beforeAll, afterAll }, { backend: 'cpu', tower: { seed: 1 }, toy: { seed: 3 } });

/** View v of every row: the row plus seeded noise. */
const noisy = (m: FeatureMatrix, k: number, seed: number): FeatureMatrix[] => Array.from({ length: k }, (_, v) => {
  const rng = new Rng(seed + v);
  return { rows: m.rows, dim: m.dim, data: m.data.map((x) => x + rng.normal(0, 0.5)) };
});

describe('CoOp with views', () => {
  const fit = async (views: string, over: Record<string, unknown> = {}) => {
    const r = await coop.fit({
      source: fx.toy.source, sourceLabels: fx.toy.sourceLabels, target: fx.toy.target, classNames: fx.toy.classNames, domainNames: fx.toy.domainNames,
      clip: fx.tower, seed: 5, config: { ...methodDefaults(coop, 'synth'), epochs: 3, views }, ...over,
    });
    const p = Array.from((await r.predict(fx.toy.evalTarget.features)).probs);
    r.dispose();
    return p;
  };

  it('trains on each epoch\'s view of the source: the clean features as views give the clean run, other views another', async () => {
    const clean = await fit('0');
    expect(await fit('2', { trainViews: { source: [fx.toy.source, fx.toy.source], target: [fx.toy.target, fx.toy.target] } })).toEqual(clean);
    const asked: number[] = [];
    const views = noisy(fx.toy.source, 3, 9);
    const online = await fit('online', { onlineViews: { view: async (side: string, epoch: number) => { if (side === 'source') asked.push(epoch); return side === 'source' ? views[epoch - 1]! : fx.toy.target; } } });
    expect(asked).toEqual([1, 2, 3]);
    expect(online).not.toEqual(clean);
  });
});

describe('the linear probe with views', () => {
  const fit = async (views: string, over: Record<string, unknown> = {}) => {
    const { linearProbe } = await import('./linear-probe.js');
    const r = await linearProbe.fit({
      source: fx.toy.source, sourceLabels: fx.toy.sourceLabels, target: fx.toy.target, classNames: fx.toy.classNames, domainNames: fx.toy.domainNames,
      seed: 5, config: { ...methodDefaults(linearProbe, 'synth'), search: 'none', views }, ...over,
    } as never);
    const p = Array.from((await r.predict(fx.toy.evalTarget.features)).probs);
    r.dispose();
    return p;
  };

  it('fits the views\' rows beside the clean ones: other rows, another fit; a missing view is an error', async () => {
    const clean = await fit('0');
    const views = noisy(fx.toy.source, 2, 4);
    expect(await fit('2', { trainViews: { source: views, target: [fx.toy.target, fx.toy.target] } })).not.toEqual(clean);
    await expect(fit('2')).rejects.toThrow(/views=2 needs 2 cached views/);
  });
});
