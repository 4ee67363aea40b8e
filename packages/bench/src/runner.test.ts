import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, selectBackend, workspaceRoot, type BackendReport } from '@dampl/runtime';
import { mergeResults } from './merge.js';
import { readRecords } from './records.js';
import { parseResultsCsv, rowFromRecord, type ResultRow } from './results.js';
import { main } from './cli.js';
import { runSuiteWithWorkers } from './jobs.js';
import { CellsFailed, runSuite, type RunOptions } from './runner.js';
import { summarize } from './summary.js';
import type { Suite } from './suites.js';
import { centroidMethod, registerTestMethods, registerTinyDataset, writeRandomClip, writeTinyImages, zeroShotTestMethod } from './testing.js';

const DOMAINS = ['one', 'two'];
const CLASSES = ['red', 'green', 'blue'];
const METHODS = [centroidMethod.name, zeroShotTestMethod.name];
const here = path.dirname(fileURLToPath(import.meta.url));

let tmp: string;
let model: string;
let data: string;
let backend: BackendReport;
const lines: string[] = [];
const log = createLogger({ level: 'info', sink: (l) => lines.push(l) });

registerTestMethods();
registerTinyDataset('bench-tiny', DOMAINS, CLASSES);

const suite = (datasets: Suite['datasets'] = [{ dataset: 'bench-tiny', root: data }], seeds = [1, 2]): Suite => ({ name: 'tiny', model, seeds, datasets });

function options(results: string, extra: Partial<RunOptions> = {}): RunOptions {
  return { suite: suite(), resultsDir: results, cacheDir: path.join(tmp, 'cache'), methods: METHODS, backend, log, print: () => {}, ...extra };
}

const fits = () => centroidMethod.fits + zeroShotTestMethod.fits;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-runner-'));
  model = await writeRandomClip(path.join(tmp, 'clip'));
  data = path.join(tmp, 'data');
  await writeTinyImages(data, DOMAINS, CLASSES, 4);
  backend = await selectBackend('cpu');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  centroidMethod.fits = zeroShotTestMethod.fits = 0;
  centroidMethod.failOn = zeroShotTestMethod.failOn = undefined;
});

/** The table columns that do not depend on when or how fast a run went. */
const stable = (rows: ResultRow[]) => rows.map(({ fitSeconds: _f, date: _d, commit: _c, ...r }) => r);

describe('dampl bench run on a tiny dataset with a random CLIP', () => {
  // one complete run that the cases below read (never write): each case that runs again works on its own copy
  let full: string;
  let first: Awaited<ReturnType<typeof runSuite>>;
  let firstFits: number;
  beforeAll(async () => {
    full = path.join(tmp, 'full');
    centroidMethod.fits = zeroShotTestMethod.fits = 0;
    first = await runSuite(options(full));
    firstFits = fits();
  });
  const copyOfFull = async (name: string) => {
    const dir = path.join(tmp, name);
    await cp(full, dir, { recursive: true });
    return dir;
  };

  it('writes a record per cell, results.csv, summary.md and an SVG chart', async () => {
    const r = first;
    expect(r.grid).toHaveLength(2 * 2 * 2);
    expect(r.outcomes.filter((o) => !o.error)).toHaveLength(8);
    expect(firstFits).toBe(8);
    const out = path.join(full, 'tiny');
    expect(readdirSync(path.join(out, 'runs'))).toHaveLength(8);
    for (const f of ['results.csv', 'summary.md', 'bench-tiny.svg', 'suite.json']) expect(existsSync(path.join(out, f))).toBe(true);

    const rows = parseResultsCsv(readFileSync(path.join(out, 'results.csv'), 'utf8'));
    expect(rows).toHaveLength(8);
    const records = await readRecords(out);
    for (const row of rows) {
      const rec = records.get(row.key)!;
      expect(rec.provenance.backendName).toBe('cpu');
      expect(rec.provenance.kernels).toMatch(/^(native: .+ sgemm|tfjs cpu kernels \(.+\))/);
      expect(rec.provenance.commit).toMatch(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
      expect(rec.provenance.device.cpus).toBeGreaterThan(0);
      expect(rec.data.test.images).toBe(12);
      expect(rec.result.perClass.map((c) => c.class)).toEqual(CLASSES);
      expect(row.value).toBeCloseTo(100 * rec.result.value, 10);
      expect(rowFromRecord(rec)).toEqual(row);
    }
    // the centroid of clearly coloured classes is right; the random text tower is not
    expect(rows.filter((x) => x.method === centroidMethod.name).every((x) => x.value > 60)).toBe(true);

    const md = readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(md).toContain('| method | one-two | two-one | avg |');
    expect(md).toMatch(/\| test-centroid \| \d+\.\d( ± \d+\.\d)? \|/);
    expect(md).toContain('![bench-tiny: accuracy per task and method](bench-tiny.svg)');
    expect(readFileSync(path.join(out, 'bench-tiny.svg'), 'utf8')).toMatch(/^<svg[^>]*>.*test-zero-shot.*<\/svg>$/s);
  });

  it('a second run finds every cell finished, fits nothing and writes the same files', async () => {
    const again = await copyOfFull('second-run');
    const out = path.join(again, 'tiny');
    const files = ['results.csv', 'summary.md', 'bench-tiny.svg', 'suite.json'];
    const before = files.map((f) => readFileSync(path.join(out, f), 'utf8'));
    const r = await runSuite(options(again));
    expect(files.map((f) => readFileSync(path.join(out, f), 'utf8'))).toEqual(before);
    expect(r.pending).toHaveLength(0);
    expect(r.finished).toHaveLength(8);
    expect(fits()).toBe(0);
  });

  it('computes every cell into an empty folder whatever a reference run holds, and sets the two side by side', async () => {
    const reference = path.join(full, 'tiny');
    const dir = path.join(tmp, 'beside-reference');
    const r = await runSuite({ ...options(dir), suite: { ...suite(), reference } });
    expect(r.finished).toHaveLength(0);
    expect(r.outcomes.filter((o) => !o.error)).toHaveLength(8);
    expect(fits()).toBe(8);
    const md = readFileSync(path.join(dir, 'tiny', 'summary.md'), 'utf8');
    expect(md).toContain(`### This run − the reference run (${reference}), percentage points`);
    // the same deterministic methods and seeds: every cell compared, no difference
    expect(md).toMatch(/\| test-centroid \| \+0\.0 \| \+0\.0 \| 4 \| [\d.]+ \| [\d.]+ \| \+0\.0 \|/);
    expect(JSON.parse(readFileSync(path.join(dir, 'tiny', 'suite.json'), 'utf8')).reference).toBe(reference);
  });

  it('--dry-run lists the grid with each cell\'s status and estimates from earlier records', async () => {
    const printed: string[] = [];
    const r = await runSuite(options(await copyOfFull('dry-run'), { dryRun: true, seeds: [1, 2, 3], print: (l) => printed.push(l), backend: undefined, family: 'wasm/cpu' }));
    expect(fits()).toBe(0);
    expect(r.grid).toHaveLength(12);
    expect(printed.filter((l) => /^ {2}done /.test(l))).toHaveLength(8);
    expect(printed.filter((l) => /^ {2}to-run /.test(l))).toHaveLength(4);
    expect(printed.some((l) => /to-run\s+bench-tiny\s+one-two\s+test-centroid\s+3/.test(l))).toBe(true);
    expect(printed.join('\n')).toContain('12 cell(s); 12 in this shard; 8 done; 4 to run');
    expect(r.estimate!.unknown).toBe(0);
    expect(Number.isFinite(r.estimate!.seconds)).toBe(true);
  });

  it('after a crash, a rerun finishes without redoing finished cells', async () => {
    const dir = path.join(tmp, 'crash');
    centroidMethod.failOn = 3; // the third centroid fit: seed 2, one-two (the 5th cell)
    await expect(runSuite(options(dir, { failFast: true }))).rejects.toThrow(/simulated crash/);
    const out = path.join(dir, 'tiny');
    const done = await readRecords(out);
    expect(done.size).toBe(4);
    const stamps = new Map([...done.keys()].map((k) => [k, statSync(path.join(out, 'runs', `${k}.json`)).mtimeMs]));

    centroidMethod.fits = zeroShotTestMethod.fits = 0;
    centroidMethod.failOn = undefined;
    const r = await runSuite(options(dir));
    expect(r.finished).toHaveLength(4);
    expect(fits()).toBe(4);
    expect((await readRecords(out)).size).toBe(8);
    for (const [k, t] of stamps) expect(statSync(path.join(out, 'runs', `${k}.json`)).mtimeMs).toBe(t);
  });

  it('a failing cell does not stop the others; the rerun runs only it', async () => {
    const dir = path.join(tmp, 'failing');
    zeroShotTestMethod.failOn = 1;
    await expect(runSuite(options(dir))).rejects.toThrow(CellsFailed);
    expect(fits()).toBe(8);
    expect((await readRecords(path.join(dir, 'tiny'))).size).toBe(7);
    centroidMethod.fits = zeroShotTestMethod.fits = 0;
    zeroShotTestMethod.failOn = undefined;
    const r = await runSuite(options(dir));
    expect(r.pending.map((c) => [c.method, c.task, c.seed])).toEqual([[zeroShotTestMethod.name, 'one-two', 1]]);
    expect(fits()).toBe(1);
  });

  it('a process killed midway loses only the cell it was running', async () => {
    const dir = path.join(tmp, 'killed');
    const out = path.join(dir, 'tiny');
    const tsxLoader = pathToFileURL(path.join(workspaceRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
    // a plain Node process, as the command line runs (not under vitest's module loader)
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    // node itself loads the TypeScript (tsx's loader), so the process that kills itself is the one spawned
    const child = spawn(process.execPath, ['--import', tsxLoader, path.join(here, 'fixtures', 'run-tiny.ts'), tmp, model, data, dir, '--kill-at-fit', '4'], {
      stdio: ['ignore', 'ignore', 'pipe'], env,
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    // it kills itself as its fourth fit starts, three cells recorded
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');
    const done = await readRecords(out);
    expect(done.size).toBe(3);
    // nothing half-written is taken for a record
    for (const f of readdirSync(path.join(out, 'runs')).filter((x) => x.endsWith('.json'))) {
      expect(() => JSON.parse(readFileSync(path.join(out, 'runs', f), 'utf8'))).not.toThrow();
    }
    const r = await runSuite(options(dir));
    expect(r.finished).toHaveLength(done.size);
    expect(fits()).toBe(8 - done.size);
    expect((await readRecords(out)).size).toBe(8);
  }, 60_000);

  it('--jobs: worker processes share the grid, each cell run once', async () => {
    const dir = path.join(tmp, 'jobs');
    const fitLog = path.join(tmp, 'fits.log');
    const tsx = path.join(workspaceRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST'))), BENCH_FIT_LOG: fitLog };
    const r = await runSuiteWithWorkers(options(dir), {
      jobs: 2, command: () => [tsx, path.join(here, 'fixtures', 'run-tiny.ts'), tmp, model, data, dir, '--worker'], env, reportEveryMs: 500,
    });
    expect(fits()).toBe(0); // nothing ran in this process
    const fitLines = readFileSync(fitLog, 'utf8').trim().split('\n');
    expect(fitLines).toHaveLength(8);
    expect(new Set(fitLines.map((l) => l.split(' ')[0])).size).toBe(2);
    expect(r.outcomes.filter((o) => !o.error)).toHaveLength(8);
    expect((await readRecords(path.join(dir, 'tiny'))).size).toBe(8);
    expect(existsSync(path.join(dir, 'tiny', 'runs', '.claims'))).toBe(false);
    const one = parseResultsCsv(readFileSync(path.join(full, 'tiny', 'results.csv'), 'utf8'));
    expect(stable(parseResultsCsv(readFileSync(path.join(dir, 'tiny', 'results.csv'), 'utf8')))).toEqual(stable(one));
  }, 60_000);

  it('records made with other weights under the same model path are run again', async () => {
    const dir = path.join(tmp, 'stale');
    const clipDir = path.join(tmp, 'clip-b');
    await cp(path.dirname(model), clipDir, { recursive: true });
    const other = path.join(clipDir, path.basename(model));
    await runSuite(options(dir, { model: other, seeds: [1], methods: [centroidMethod.name] }));
    expect(fits()).toBe(2);
    await writeRandomClip(clipDir, undefined, 99);
    centroidMethod.fits = 0;
    const r = await runSuite(options(dir, { model: other, seeds: [1], methods: [centroidMethod.name] }));
    expect(r.finished).toHaveLength(0);
    expect(fits()).toBe(2);
  });

  it('lists a dataset without data as skipped, with the command that gets it', async () => {
    const dir = path.join(tmp, 'skipped');
    const missing = path.join(tmp, 'no-office-home');
    const r = await runSuite(options(dir, {
      suite: suite([{ dataset: 'bench-tiny', root: data }, { dataset: 'office-home', root: missing }], [1]),
      methods: [centroidMethod.name],
    }));
    expect(r.skipped).toEqual([{ dataset: 'office-home', root: missing, reason: `no data at ${missing}`, command: `npx dampl data download office-home --root ${missing}` }]);
    expect(r.grid.every((c) => c.dataset === 'bench-tiny')).toBe(true);
    const md = readFileSync(path.join(dir, 'tiny', 'summary.md'), 'utf8');
    expect(md).toContain('## Skipped datasets');
    expect(md).toContain(`| office-home | no data at ${missing} | \`npx dampl data download office-home --root ${missing}\` |`);
  });

  it('shards run disjoint parts; merging them gives the tables of one run', async () => {
    const a = path.join(tmp, 'shard-a');
    const b = path.join(tmp, 'shard-b');
    const ra = await runSuite(options(a, { shard: { index: 1, count: 2 } }));
    const rb = await runSuite(options(b, { shard: { index: 2, count: 2 } }));
    expect(fits()).toBe(8);
    expect(ra.mine.length + rb.mine.length).toBe(8);
    expect(ra.mine.filter((c) => rb.mine.some((x) => x.key === c.key))).toHaveLength(0);

    const merged = path.join(tmp, 'merged');
    const m = await mergeResults([path.join(a, 'tiny'), path.join(b, 'tiny')], merged);
    expect(m.records).toBe(8);
    const one = parseResultsCsv(readFileSync(path.join(full, 'tiny', 'results.csv'), 'utf8'));
    const joined = parseResultsCsv(readFileSync(path.join(merged, 'results.csv'), 'utf8'));
    expect(stable(joined)).toEqual(stable(one));
    expect(summarize('tiny', joined).tables).toEqual(summarize('tiny', one).tables);
    const tables = (f: string) => readFileSync(f, 'utf8').split('## Provenance')[0];
    expect(tables(path.join(merged, 'summary.md'))).toBe(tables(path.join(full, 'tiny', 'summary.md')));
    expect(readFileSync(path.join(merged, 'bench-tiny.svg'), 'utf8')).toBe(readFileSync(path.join(full, 'tiny', 'bench-tiny.svg'), 'utf8'));
    // merging again changes nothing
    const again = await mergeResults([path.join(a, 'tiny'), path.join(b, 'tiny')], merged);
    expect(again.copied).toBe(0);
    // the command line does the same
    const viaCli = path.join(tmp, 'merged-cli');
    expect(await main(['bench', 'merge', path.join(a, 'tiny'), path.join(b, 'tiny'), '--out', viaCli, '--quiet'])).toBe(0);
    expect(readFileSync(path.join(viaCli, 'results.csv'), 'utf8')).toBe(readFileSync(path.join(merged, 'results.csv'), 'utf8'));
    expect(await main(['bench', 'merge', data, '--quiet'])).toBe(1);
  });
});
