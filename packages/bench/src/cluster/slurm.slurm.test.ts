/**
 * `nx run bench:slurm-e2e`: a slice of the synthetic grid through `dampl bench slurm --submit` on a
 * single-node SLURM cluster started here (local-slurm.ts), in 2 parts on two tasks: one task is
 * cancelled after its first record and the same command resubmitted, which must run only that
 * task's remaining cells; the merged results.csv must hold the cells and accuracies of a
 * single-process `dampl bench run` of the same slice.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { missingDaemons, startLocalSlurm, type LocalSlurm } from './local-slurm.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';

const BIN = fileURLToPath(new URL('../../bin/dampl.js', import.meta.url));
const SLICE = ['--suite', 'synth', '--methods', 'zero-shot', 'linear-probe', 'coop', 'source-only', '--tasks', 'cl-pa', 'pa-cl', '--backend', 'wasm'];

// the command runs as it does outside vitest (the runtime installs its tfjs resolution hook unless VITEST is set)
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
let tmp: string;
let cluster: LocalSlurm | undefined;

beforeAll(async () => {
  const missing = missingDaemons();
  if (missing.length) throw new Error(`${missing.join(', ')} not found: this target needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge, as root)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dampl-slurm-e2e-'));
  chmodSync(tmp, 0o755);
  cluster = await startLocalSlurm(path.join(tmp, 'slurm'), ENV);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

function dampl(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: env ?? ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`dampl ${args.join(' ')} exited ${code}:\n${out}\n${err}`))));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await sleep(100);
  }
}

const runsOf = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []);
const jobState = (id: string) => /JobState=(\S+)/.exec(spawnSync('scontrol', ['show', 'job', id], { env: cluster!.env, encoding: 'utf8' }).stdout ?? '')?.[1];
const queued = (id: string) => (spawnSync('squeue', ['-h', '-j', id], { env: cluster!.env, encoding: 'utf8' }).stdout ?? '').trim();

function table(file: string): Map<string, { value: string; accuracy: string }> {
  const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
  return new Map(rows.map((r) => [`${r.dataset} ${r.task} ${r.method} seed ${r.seed}`, { value: r.value!, accuracy: r.accuracy! }]));
}

it('runs the grid in 2 shards on SLURM, resumes a cancelled shard with its remaining cells only, and merges the tables of a single-process run', async () => {
  const t0 = Date.now();
  const single = path.join(tmp, 'single');
  await dampl(['bench', 'run', ...SLICE, '--results', single, '--cache', path.join(tmp, 'cache-single'), '--jobs', '1', '--quiet']);
  const expected = table(path.join(single, 'synth', 'results.csv'));
  expect(expected.size).toBe(8);

  const results = path.join(tmp, 'cluster');
  const command = ['bench', 'slurm', ...SLICE, '--results', results, '--cache', path.join(tmp, 'cache-cluster'), '--shards', '2', '--cpus-per-task', '1', '--submit'];
  const first = await dampl(command, cluster!.env);
  const arrayId = /submitted array job (\d+): task\(s\) 1-2 of 2/.exec(first)?.[1];
  const mergeId = /submitted merge job (\d+) \(starts when (\d+) succeed\)/.exec(first);
  expect(arrayId, first).toBeDefined();
  expect(mergeId?.[2]).toBe(arrayId);

  const dir = path.join(results, 'slurm', 'synth');
  const manifest = parseManifest(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'), MANIFEST_FILE);
  expect(manifest.shards.map((s) => s.cells.length)).toEqual([4, 4]);
  const runs = (i: number) => path.join(dir, 'shards', String(i), 'synth', 'runs');
  // cancel the first task to write a record, while it has cells left
  const victim = await until('a first record', () => [1, 2].find((i) => runsOf(runs(i)).length > 0), 120_000);
  spawnSync('scancel', [`${arrayId}_${victim}`], { env: cluster!.env });
  const other = victim === 1 ? 2 : 1;
  await until('the tasks leaving the queue', () => queued(arrayId!) === '', 120_000);
  const doneBefore = runsOf(runs(victim));
  expect(doneBefore.length).toBeGreaterThan(0);
  expect(doneBefore.length).toBeLessThan(4);
  expect(runsOf(runs(other))).toHaveLength(4);
  const dates = new Map(doneBefore.map((f) => [f, JSON.parse(readFileSync(path.join(runs(victim), f), 'utf8')).provenance.date]));

  const status = await dampl(['bench', 'slurm', '--status', '--results', results], cluster!.env);
  const row = (i: number) => new RegExp(`^${i}\\s+4\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(.*)$`, 'm').exec(status);
  expect(row(victim)?.slice(1, 4), status).toEqual([String(doneBefore.length), '0', String(4 - doneBefore.length)]);
  expect(row(victim)?.[4]).toMatch(/^stopped/);
  expect(row(other)?.slice(1, 5), status).toEqual(['4', '0', '0', 'finished']);

  // the same command again: only the cancelled task, with its cells left
  const second = await dampl(command, cluster!.env);
  expect(second).toContain(`cancelled the earlier merge job ${mergeId![1]}`);
  const again = new RegExp(`submitted array job (\\d+): task\\(s\\) ${victim} of 2, ${4 - doneBefore.length} cell\\(s\\) to run`).exec(second);
  expect(again, second).not.toBeNull();
  const merge2 = /submitted merge job (\d+)/.exec(second)![1]!;
  const final = await until('the merge job ending', () => { const s = jobState(merge2); return s && !/PENDING|RUNNING|CONFIGURING|COMPLETING/.test(s) ? s : undefined; }, 180_000);
  expect(final, readFileSync(path.join(dir, 'logs', 'merge.out'), 'utf8')).toBe('COMPLETED');

  // the resumed attempt ran what was left, and left the finished records alone
  const log = readFileSync(path.join(dir, 'logs', `shard-${victim}.out`), 'utf8');
  const attempts = log.split(/^dampl-slurm: shard \d\/2 start/m).slice(1);
  expect(attempts).toHaveLength(2);
  expect(attempts[1]).toMatch(new RegExp(`${doneBefore.length} finished earlier, ${4 - doneBefore.length} to run`));
  for (const [f, date] of dates) expect(JSON.parse(readFileSync(path.join(runs(victim), f), 'utf8')).provenance.date).toBe(date);
  expect(readFileSync(path.join(dir, 'logs', `shard-${other}.out`), 'utf8').match(/^dampl-slurm: shard \d\/2 start/gm)).toHaveLength(1);

  const merged = table(path.join(results, 'synth', 'results.csv'));
  expect([...merged.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, v] of expected) expect(merged.get(k), k).toEqual(v);
  console.log(`slurm e2e: ${doneBefore.length} cell(s) of shard ${victim} done before it was cancelled, ${4 - doneBefore.length} run on resubmission; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
