import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli.js';
import { checkConfigHashes } from '../merge.js';
import type { RunRecord } from '../records.js';
import { inShard, parseShard } from '../shard.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, splitCells, type ManifestCell, type SlurmManifest } from './manifest.js';
import { formatStatus, lastAttempt, shardStatuses } from './status.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dampl-cluster-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cell = (i: number, estimate: number | null): ManifestCell => ({
  key: `k${String(i).padStart(3, '0')}`, suite: 'synth', method: `m${i}`, dataset: 'synth', task: 'cl-pa', seed: 1, configHash: 'h', estimate,
});

function manifestOf(cells: ManifestCell[], parts: number): SlurmManifest {
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, name: 't', created: '', commit: 'c', runArgs: [], shards: splitCells(cells, parts) };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  return { out: () => out.join(''), err: () => err.join(''), restore: () => { o.mockRestore(); e.mockRestore(); } };
}

describe('the split of a grid', () => {
  it('balances the parts on the estimates, keeping each cell once and the grid order within a part', () => {
    const costs = [10, 9, 8, 2, 2, 1, 1, 1];
    const parts = splitCells(costs.map((c, i) => cell(i, c)), 2);
    expect(parts.map((p) => p.estimateSeconds)).toEqual([17, 17]);
    const keys = parts.flatMap((p) => p.cells.map((c) => c.key));
    expect(keys.sort()).toEqual(costs.map((_, i) => cell(i, 0).key));
    for (const p of parts) expect(p.cells.map((c) => c.key)).toEqual([...p.cells.map((c) => c.key)].sort());
  });

  it('counts a cell without an estimate at the mean of the others, and splits equal counts when none has one', () => {
    const mixed = splitCells([cell(0, 6), cell(1, null), cell(2, null), cell(3, 2)], 2);
    expect(mixed.map((p) => p.estimateSeconds)).toEqual([8, 8]);
    expect(splitCells([0, 1, 2, 3, 4].map((i) => cell(i, null)), 2).map((p) => p.cells.length)).toEqual([3, 2]);
  });

  it('--shard i/n@manifest.json takes exactly the cells the manifest lists for part i', () => {
    const m = manifestOf([0, 1, 2, 3, 4, 5].map((i) => cell(i, i + 1)), 2);
    const file = path.join(tmp, 'manifest.json');
    writeFileSync(file, JSON.stringify(m));
    const s = parseShard(`2/2@${file}`);
    const mine = [0, 1, 2, 3, 4, 5].map((i) => cell(i, 0)).filter((c) => inShard(c, s)).map((c) => c.key);
    expect(mine).toEqual(m.shards[1]!.cells.map((c) => c.key));
    expect(() => parseShard(`1/3@${file}`)).toThrow(/splits the grid in 2 part/);
    expect(() => parseShard(`1/2@${path.join(tmp, 'none.json')}`)).toThrow(/cannot read the manifest/);
  });
});

describe('dampl bench merge of shards', () => {
  const rec = (method: string, configHash: string, commit = 'a'): RunRecord => ({
    key: `${method}-${configHash}`, suite: 'synth', method, dataset: 'synth', configHash, model: { id: 'm' }, provenance: { backendFamily: 'wasm', commit },
  }) as unknown as RunRecord;

  it('refuses folders whose cells of a method on a dataset have other config hashes, and takes one folder or agreeing folders', () => {
    expect(() => checkConfigHashes(new Map([['s1', [rec('dampl', 'aaa')]], ['s2', [rec('dampl', 'bbb'), rec('coop', 'ccc')]]]))).toThrow(/disagree on the config of 1 method.*dampl on synth/);
    expect(() => checkConfigHashes(new Map([['s1', [rec('dampl', 'aaa')]], ['s2', [rec('dampl', 'aaa'), rec('coop', 'ccc')]]]))).not.toThrow();
    expect(() => checkConfigHashes(new Map([['s1', [rec('dampl', 'aaa'), rec('dampl', 'bbb')]]]))).not.toThrow();
  });
});

describe('dampl bench slurm --status', () => {
  it('reads the last attempt of a task\'s log: its exit, and the cells it names as failing', () => {
    const log = [
      'dampl-slurm: shard 1/2 start: job 5', 'error: 2 of 3 cell(s) failed: m1 synth cl-pa seed 1; m2 synth cl-pa seed 1', 'dampl-slurm: shard 1/2 exit 1 at x',
      'dampl-slurm: shard 1/2 start: job 7', 'error: 1 of 2 cell(s) failed: m2 synth cl-pa seed 1', 'dampl-slurm: shard 1/2 exit 1 at y',
    ].join('\n');
    expect(lastAttempt(log)).toEqual({ started: true, exit: 1, failing: new Set(['m2 synth cl-pa seed 1']) });
    expect(lastAttempt(`${log}\ndampl-slurm: shard 1/2 start: job 9\n[1/1] m2 synth cl-pa seed 1: 50.0% in 1 s`)).toEqual({ started: true, exit: undefined, failing: new Set() });
  });

  it('counts each part\'s cells done (a record), failed (named by its log) and left', async () => {
    const dir = path.join(tmp, 'slurm', 't');
    const m = manifestOf([0, 1, 2, 3, 4, 5].map((i) => cell(i, 1)), 2);
    const [a, b] = m.shards as [typeof m.shards[0], typeof m.shards[0]];
    mkdirSync(path.join(dir, 'shards', '1', 'synth', 'runs'), { recursive: true });
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    writeFileSync(path.join(dir, 'shards', '1', 'synth', 'runs', `${a.cells[0]!.key}.json`), '{}');
    const f = a.cells[1]!;
    writeFileSync(path.join(dir, 'logs', 'shard-1.out'), `dampl-slurm: shard 1/2 start\nerror: 1 of 2 cell(s) failed: ${f.method} ${f.dataset} ${f.task} seed ${f.seed}\ndampl-slurm: shard 1/2 exit 1 at z\n`);
    const rows = await shardStatuses(dir, m, []);
    expect(rows.map((r) => [r.done, r.failed.map((c) => c.key), r.left, r.state])).toEqual([
      [1, [f.key], a.cells.length - 2, 'failed (exit 1)'],
      [0, [], b.cells.length, 'not started'],
    ]);
    expect(formatStatus(rows).at(-1)).toMatch(/^all\s+6\s+1\s+1\s+4$/);
  });
});

describe('dampl bench slurm', () => {
  const grid = ['--suite', 'synth', '--methods', 'zero-shot', 'linear-probe', '--tasks', 'cl-pa', 'pa-cl', '--set', 'linear-probe.epochs=3'];
  const results = path.join(tmp, 'results');

  it('without --submit writes the split and prints an array script and a merge job depending on it', async () => {
    const c = capture();
    let code: number;
    try {
      code = await main(['bench', 'slurm', ...grid, '--shards', '4', '--backend', 'wasm', '--results', results, '--partition', 'gpu', '--time', '2:00:00', '--cpus-per-task', '2', '--quiet']);
    } finally {
      c.restore();
    }
    expect(code, c.err()).toBe(0);
    const out = c.out();
    const dir = path.join(results, 'slurm', 'synth');
    expect(out).toContain(`wrote ${path.join(dir, 'manifest.json')}: 4 cell(s) in 4 part(s)`);
    expect(out).toContain('#SBATCH --array=1-4');
    expect(out).toContain('#SBATCH --partition=gpu');
    expect(out).toContain('#SBATCH --cpus-per-task=2');
    expect(out).toMatch(/bench run --suite synth --backend wasm --methods zero-shot linear-probe --tasks cl-pa pa-cl --set linear-probe\.epochs=3 --quiet --results \S+\/shards\/"\$i" --shard "\$i\/4@"\S+manifest\.json --jobs "\$\{SLURM_CPUS_PER_TASK:-1\}"/);
    expect(out).toContain(`bench merge "\${dirs[@]}" --out ${results}/"$suite"`);
    expect(out).toContain(`sbatch --dependency=afterok:$jid ${path.join(dir, 'merge.sh')}`);
    expect(readFileSync(path.join(dir, 'array.sh'), 'utf8')).toContain('#SBATCH --array=1-4');
  });

  it('keeps the split on a second call, refuses another grid in its folder and the auto backend', async () => {
    const c = capture();
    const codes: number[] = [];
    const results = path.join(tmp, 'results-2');
    try {
      codes.push(await main(['bench', 'slurm', ...grid, '--shards', '4', '--backend', 'wasm', '--results', results, '--quiet']));
      codes.push(await main(['bench', 'slurm', ...grid, '--shards', '4', '--backend', 'wasm', '--results', results, '--quiet']));
      codes.push(await main(['bench', 'slurm', ...grid, '--shards', '3', '--backend', 'wasm', '--results', results, '--quiet']));
      codes.push(await main(['bench', 'slurm', ...grid.slice(0, -2), '--shards', '4', '--backend', 'wasm', '--results', results, '--quiet']));
      codes.push(await main(['bench', 'slurm', ...grid, '--shards', '3', '--results', results, '--name', 'other', '--quiet']));
    } finally {
      c.restore();
    }
    expect(codes).toEqual([0, 0, 1, 1, 1]);
    expect(c.out()).toMatch(/^wrote [\s\S]*^kept /m);
    expect(c.err()).toContain('splits this grid in 4 part(s), not 3');
    expect(c.err()).toContain('splits another grid: 4 part(s), 2 of its cell(s) not in this one (linear-probe[epochs=3] synth cl-pa seed 1; linear-probe[epochs=3] synth pa-cl seed 1), 2 new');
    expect(c.err()).toMatch(/needs the backend the tasks run on/);
  });
});
