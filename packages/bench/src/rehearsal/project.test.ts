import { beforeAll, describe, expect, it } from 'vitest';
import { getMethod, resolveMethodConfig, type Method } from '@dampl/core';
import { loadMethods } from '../plugins.js';
import { METHOD_CAPS, capOverrides, fitLine, fullSteps, projectCell } from './project.js';
import { fullTaskSizes, projectGrid } from './grid-cost.js';
import { OFFICE_HOME_SHAPE } from './trees.js';

beforeAll(async () => {
  await loadMethods({});
});

const config = async (m: string, dataset: string, over?: Record<string, unknown>) =>
  (await resolveMethodConfig(getMethod(m) as Method<unknown>, { dataset, overrides: over })) as Record<string, unknown>;

describe('rehearsal projection', () => {
  it('has a cap for every registered method, and each cap is a valid config of its method', async () => {
    for (const m of ['dampl', 'zero-shot', 'zero-shot-ensemble', 'coop', 'linear-probe', 'source-only', 'dapl', 'dann', 'dan', 'cdan', 'mcc', 'shot-im']) {
      expect(METHOD_CAPS[m], m).toBeDefined();
      const c = await config(m, 'office-home', capOverrides(m, 7));
      const s = fullSteps(m, c, { source: 2427, target: 4365, test: 4365 });
      if (METHOD_CAPS[m] === 'maxSteps' || METHOD_CAPS[m] === 'iters') expect(s, m).toBe(7);
    }
    expect(() => capOverrides('nope', 3)).toThrow(/no step cap for method 'nope'/);
  });

  it("counts a full cell's steps from the config and the task's sizes", async () => {
    const full = fullTaskSizes(OFFICE_HOME_SHAPE, 'Art', 'Clipart');
    expect(full).toEqual({ source: 2427, target: 4365, test: 4365 });
    const d = await config('dampl', 'office-home');
    // DAPL's trainer counts an epoch by the source (COUNT_ITER train_x), batches of 32
    expect(fullSteps('dampl', d, full)).toBe((d.epochs as number) * Math.ceil(2427 / 32));
    expect(fullSteps('dampl', { ...d, countIter: 'target' }, full)).toBe((d.epochs as number) * Math.ceil(4365 / 32));
    const dann = await config('dann', 'office-home');
    expect(fullSteps('dann', dann, full)).toBe((dann.epochs as number) * (dann.itersPerEpoch as number));
  });

  it('fits setup and per-step seconds through two capped runs and projects the full cell', async () => {
    const line = (steps: number) => ({ steps, seconds: 3 + 0.5 * steps });
    const fit = fitLine([line(2), line(6)]);
    expect(fit.setup).toBeCloseTo(3, 9);
    expect(fit.perStep).toBeCloseTo(0.5, 9);
    const d = await config('dampl', 'office-home');
    const full = fullTaskSizes(OFFICE_HOME_SHAPE, 'Art', 'Clipart');
    const m = { method: 'dampl', kind: 'maxSteps' as const, runs: [line(2), line(6)], sizes: { source: 121, target: 218, test: 218 }, predictSeconds: 2.18 };
    const steps = fullSteps('dampl', d, full);
    expect(projectCell(m, d, full)).toBeCloseTo(3 + 0.5 * steps + 2.18 * (4365 / 218), 6);
  });

  it('sums the grid over every task and seed, with the encoding of every image once', async () => {
    const cfg = { 'zero-shot': await config('zero-shot', 'office-home') };
    const g = projectGrid({
      datasets: ['office-home'],
      measures: { 'office-home': [{ method: 'zero-shot', kind: 'fixed', runs: [{ steps: 0, seconds: 1 }], sizes: { source: 10, target: 10, test: 10 }, predictSeconds: 0 }] },
      configs: { 'office-home': cfg },
      encoding: { 'office-home': { images: 100, secondsPerImage: 0.2, cacheBytes: 204800 } },
      gpu: null,
    });
    const d = g.datasets[0]!;
    expect(d.images).toBe(15588);
    expect(d.encodeCpuSeconds).toBeCloseTo(0.2 * 15588, 6);
    expect(d.cacheBytes).toBeCloseTo(2048 * 15588, 3);
    expect(d.methods[0]!.cells).toBe(12 * g.seeds.length);
    expect(d.cpuSeconds).toBeCloseTo(0.2 * 15588 + 12 * g.seeds.length, 6);
    expect(g.gpuSeconds).toBeNull();
  });
});
