/**
 * `--jobs N`: runs a suite's grid in N worker processes on one machine. TensorFlow.js's wasm and
 * cpu backends compute on one thread, so on a machine with several cores the cells of a grid run
 * side by side in separate processes.
 *
 * The parent first generates the data and fills the feature cache (so that workers only read
 * it), then starts the workers with the same grid; each worker takes the next cell nobody has
 * claimed (an exclusive file per cell under runs/.claims/) and writes its record as usual. When
 * all have exited the parent removes the claims and rebuilds the tables. A killed worker loses
 * its running cell only, as a single process would.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CLAIMS_DIR, recordPath, readRecords, RUNS_DIR } from './records.js';
import { CellsFailed, estimateOf, formatSeconds, runSuite, type RunOptions, type SuiteReport } from './runner.js';
import { writeTables } from './tables.js';

export { CLAIMS_DIR };

export interface WorkerPlan {
  jobs: number;
  /** Node arguments that start one worker, given its 1-based number. */
  command: (worker: number) => string[];
  /** Environment of the workers (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How often the parent reports progress (ms). */
  reportEveryMs?: number;
}

/**
 * The workers' environment: OPENBLAS_NUM_THREADS = floor(cores / jobs) (at least 1) unless it is
 * set, so that the workers' BLAS threads (also the fused kernels') share the cores instead of
 * each taking all of them.
 */
export function workerEnv(env: NodeJS.ProcessEnv, jobs: number, cores = os.availableParallelism()): NodeJS.ProcessEnv {
  if (env.OPENBLAS_NUM_THREADS) return env;
  return { ...env, OPENBLAS_NUM_THREADS: String(Math.max(1, Math.floor(cores / Math.max(1, jobs)))) };
}

export async function runSuiteWithWorkers(o: RunOptions, plan: WorkerPlan): Promise<SuiteReport> {
  const { log } = o;
  const prep = await runSuite({ ...o, prepareOnly: true });
  const jobs = Math.min(plan.jobs, prep.pending.length);
  if (jobs <= 1) return runSuite({ ...o, warnSkipped: false });

  const outDir = prep.outDir;
  const claims = path.join(outDir, RUNS_DIR, CLAIMS_DIR);
  await rm(claims, { recursive: true, force: true });
  const before = await readRecords(outDir, log);
  const timings = new Map<string, number[]>();
  for (const r of before.values()) timings.set(`${r.method}\u0000${r.dataset}`, [...(timings.get(`${r.method}\u0000${r.dataset}`) ?? []), r.timings.totalSeconds]);
  log.info(`${o.suite.name}: ${prep.pending.length} cell(s) in ${jobs} worker processes`);

  const started = Date.now();
  const env = workerEnv(plan.env ?? process.env, jobs);
  log.info(`${o.suite.name}: BLAS threads per worker: ${env.OPENBLAS_NUM_THREADS}`);
  const exits = Array.from({ length: jobs }, (_, i) => new Promise<number>((resolve) => {
    const child = spawn(process.execPath, plan.command(i + 1), { stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', (e) => {
      log.error(`worker ${i + 1}: ${e.message}`);
      resolve(1);
    });
  }));
  // a cell is done when its record was written after the workers started
  const isDone = (key: string) => {
    const f = recordPath(outDir, key);
    return existsSync(f) && statSync(f).mtimeMs >= started;
  };
  let last = -1;
  const timer = setInterval(() => {
    const done = prep.pending.filter((c) => isDone(c.key)).length;
    if (done === last) return;
    last = done;
    const left = prep.pending.filter((c) => !isDone(c.key));
    const spent = (Date.now() - started) / 1000;
    const est = left.reduce((a, c) => a + estimateOf(timings, c), 0) / jobs;
    const rate = done ? (spent / done) * left.length : NaN;
    const eta = Number.isFinite(est) && est > 0 ? est : rate;
    log.info(`${o.suite.name}: ${done}/${prep.pending.length} cell(s) done in ${formatSeconds(spent)}${left.length ? `, about ${formatSeconds(eta)} left` : ''}`);
  }, plan.reportEveryMs ?? 30_000);
  let codes: number[];
  try {
    codes = await Promise.all(exits);
  } finally {
    clearInterval(timer);
    await rm(claims, { recursive: true, force: true });
  }
  const after = await readRecords(outDir, log);
  const files = await writeTables(outDir, { suite: o.suite.name, skipped: prep.skipped, reference: o.suite.reference, report: o.report, log });
  const fresh = (k: string) => after.has(k) && (!before.has(k) || after.get(k)!.provenance.date !== before.get(k)!.provenance.date);
  const ran = prep.pending.filter((c) => fresh(c.key));
  const missing = prep.pending.filter((c) => !fresh(c.key));
  const report: SuiteReport = {
    ...prep, files,
    outcomes: [...ran.map((cell) => ({ cell, value: after.get(cell.key)!.result.value, seconds: after.get(cell.key)!.timings.totalSeconds })),
      ...missing.map((cell) => ({ cell, error: 'not finished by a worker' }))],
  };
  const failed = codes.filter((c) => c !== 0).length;
  if (missing.length && !o.signal?.aborted) {
    throw new CellsFailed(`${missing.length} of ${prep.pending.length} cell(s) were not finished${failed ? ` (${failed} worker(s) failed)` : ''}: `
      + missing.slice(0, 10).map((c) => `${c.method} ${c.dataset} ${c.task} seed ${c.seed}`).join('; ') + (missing.length > 10 ? '; ...' : ''),
    'the others are recorded; see the workers\' errors above and run the same command again to run only what is missing');
  }
  return report;
}
