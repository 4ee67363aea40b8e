import { describe, expect, it } from 'vitest';
import { buildGrid, cellKey, inShard, methodSpecs, parseShard, shardOf } from './grid.js';
import { centroidMethod, registerTestMethods } from './testing.js';

registerTestMethods();

const grid = (methods = ['test-centroid', 'test-zero-shot'], seeds = [1, 2, 3]) =>
  buildGrid({ suite: 'synth', model: 'synth-clip@237ffbc47c3fac6f', backend: 'wasm/cpu', datasets: ['synth'], methods: methodSpecs(methods), seeds });

describe('the grid', () => {
  it('has one cell per method, task and seed, ordered seed, task, method', async () => {
    const g = await grid();
    expect(g).toHaveLength(2 * 12 * 3);
    expect(g.slice(0, 3).map((c) => [c.seed, c.task, c.method])).toEqual([
      [1, 'ph-cl', 'test-centroid'], [1, 'ph-cl', 'test-zero-shot'], [1, 'ph-sk', 'test-centroid'],
    ]);
    expect(new Set(g.map((c) => c.key)).size).toBe(g.length);
  });

  it('keys a cell by method, config hash, model, backend family, dataset, task and seed', async () => {
    const c = (await grid(['test-centroid'], [1]))[0]!;
    // pinned: a change of the key's derivation makes every recorded cell run again
    expect(c.configHash).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(c.key).toBe('995c48b408e7d40c8962cbc3');
    expect(cellKey(c)).toBe(c.key);
    expect(cellKey({ ...c, seed: 2 })).not.toBe(c.key);
    expect(cellKey({ ...c, configHash: 'x' })).not.toBe(c.key);
    expect(cellKey({ ...c, model: 'other' })).not.toBe(c.key);
    // a webgpu run does not resume into cells computed on wasm or cpu
    expect(cellKey({ ...c, backend: 'webgpu' })).not.toBe(c.key);
    expect(cellKey({ ...c, backend: 'tensorflow' })).not.toBe(c.key);
  });

  it('takes config overrides per method: validated, part of the config hash and the key', async () => {
    const base = (await grid(['dampl'], [1]))[0]!;
    const over = await buildGrid({ suite: 'synth', model: 'synth-clip@237ffbc47c3fac6f', backend: 'wasm/cpu', datasets: ['synth'], methods: methodSpecs(['dampl']), seeds: [1], overrides: { dampl: { epochs: 3 } } });
    expect((over[0]!.config as { epochs: number }).epochs).toBe(3);
    expect(over[0]!.configHash).not.toBe(base.configHash);
    expect(over[0]!.key).not.toBe(base.key);
    const bad = (overrides: Record<string, Record<string, unknown>>) =>
      buildGrid({ suite: 's', model: 'm', backend: 'wasm/cpu', datasets: ['synth'], methods: methodSpecs(['dampl']), seeds: [1], overrides });
    await expect(bad({ dampl: { epoch: 3 } })).rejects.toThrow(/epoch/);
    await expect(bad({ dampl: { epochs: 0 } })).rejects.toThrow(/epochs/);
    await expect(bad({ dampel: { epochs: 3 } })).rejects.toThrow(/did you mean 'dampl'/);
  });

  it('filters tasks by any spelling and rejects tasks no dataset has', async () => {
    const g = await buildGrid({ suite: 's', model: 'm', backend: 'wasm/cpu', datasets: ['synth'], methods: methodSpecs(['test-centroid']), seeds: [1], tasks: ['photo->sketch', 'cl-pa'] });
    expect(g.map((c) => c.task)).toEqual(['ph-sk', 'cl-pa']);
    await expect(buildGrid({ suite: 's', model: 'm', backend: 'wasm/cpu', datasets: ['synth'], methods: methodSpecs(['test-centroid']), seeds: [1], tasks: ['A-C'] }))
      .rejects.toThrow(/no dataset of this run has the task\(s\) A-C/);
  });

  it('rejects unknown methods and named configs with a suggestion', () => {
    expect(() => methodSpecs(['test-centriod'])).toThrow(/unknown method 'test-centriod'/);
    expect(() => methodSpecs(['dampl@fulll'])).toThrow(/no config named 'fulll'.*did you mean 'full'/s);
    expect(methodSpecs(['dampl@full'])).toEqual([{ label: 'dampl@full', name: 'dampl', named: 'full' }]);
  });
});

describe('--shard i/n', () => {
  it('parses i/n and refuses the rest', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1']) expect(() => parseShard(bad)).toThrow(/--shard must be i\/n/);
  });

  it('is a partition of the grid: every cell in exactly one shard of the runner\'s selection, the same on every run', async () => {
    const g = await grid();
    const again = await grid();
    expect(g).toHaveLength(72);
    for (const n of [1, 2, 3, 5]) {
      const shards = Array.from({ length: n }, (_, i) => parseShard(`${i + 1}/${n}`));
      // inShard is what runSuite selects a shard's cells with
      for (const c of g) expect(shards.filter((s) => inShard(c, s)).map((s) => s.index)).toHaveLength(1);
      const sizes = shards.map((s) => g.filter((c) => inShard(c, s)).length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(g.length);
      // hashing spreads 72 cells over up to 5 shards: none is empty or holds most of the grid
      for (const size of sizes) expect(size).toBeGreaterThan(n === 1 ? 71 : 72 / n / 3);
      for (const s of shards) expect(again.filter((c) => inShard(c, s)).map((c) => c.key)).toEqual(g.filter((c) => inShard(c, s)).map((c) => c.key));
    }
  });

  it('a cell\'s shard does not depend on the rest of the grid', async () => {
    const all = await grid();
    const some = await grid([centroidMethod.name], [2]);
    for (const c of some) {
      const same = all.find((x) => x.key === c.key)!;
      expect(shardOf(c.key, 3)).toBe(shardOf(same.key, 3));
    }
  });
});

describe('suite values', () => {
  it('the real suite gives 4 cached views on a CPU backend (online on a GPU) to the methods with the key, none to others', async () => {
    const { SUITES } = await import('./suites.js');
    const { listMethods, registerMethod } = await import('@dampl/core');
    const { methods } = await import('@dampl/baselines');
    for (const m of methods) if (!listMethods().some((x) => x.name === m.name)) registerMethod(m);
    const suiteValues = SUITES.real!.methodValues!('wasm/cpu');
    expect(SUITES.real!.methodValues!('webgpu')!.values).toEqual({ views: 'online' });
    const cells = await buildGrid({ suite: 'real', model: 'm', backend: 'wasm/cpu', datasets: ['office-home'], tasks: ['A-C'], methods: methodSpecs(['dapl', 'dann', 'zero-shot']), seeds: [1], suiteValues });
    const views = Object.fromEntries(cells.map((c) => [c.method, (c.config as { views?: string }).views]));
    expect(views).toEqual({ dapl: '4', dann: '4', 'zero-shot': undefined });
    // the command line's value wins over the suite's
    const set = await buildGrid({
      suite: 'real', model: 'm', backend: 'wasm/cpu', datasets: ['office-home'], tasks: ['A-C'], seeds: [1], suiteValues,
      methods: [{ label: 'dapl[views=0]', name: 'dapl', layers: [{ source: '--set dapl.views=0', values: { views: '0' } }] }],
    });
    expect((set[0]!.config as { views: string }).views).toBe('0');
  });
});
