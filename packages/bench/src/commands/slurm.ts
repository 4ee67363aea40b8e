/**
 * `dampl bench slurm`: the grid of `dampl bench run` as a SLURM job array and a merge job that
 * depends on it (cluster/scripts.ts), split once into a manifest balanced on the cells' estimated
 * cost (cluster/manifest.ts); `--submit` submits both, `--status` reports each part's cells.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { ConfigError, atomicWriteFile, backendFamily, gitCommit, type BackendName } from '@dampl/runtime';
import { registerMethods, type GlobalOptions } from './common.js';
import { formatSeconds } from '../estimates.js';
import { runCommand, parseRoots, suiteFilters } from './bench-run.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, compareWithGrid, cellLabel, parseManifest, splitCells, type SlurmManifest } from '../cluster/manifest.js';
import { arrayScript, logPath, mergeScript, shellQuote, type ScriptInput, type SlurmResources } from '../cluster/scripts.js';
import { activeTasks, addSubmission, queueStates, readSubmissions, sbatch, scancel } from '../cluster/sbatch.js';
import { formatStatus, shardStatuses } from '../cluster/status.js';
import { DEFAULT_RESULTS_DIR, displayPath, suitesFor } from '../suites.js';

interface SlurmArgs extends GlobalOptions {
  shards?: number;
  name?: string;
  partition?: string;
  time?: string;
  'gpus-per-task'?: number;
  'cpus-per-task'?: number;
  mem?: string;
  account?: string;
  'sbatch-arg'?: string[];
  submit: boolean;
  status: boolean;
  suite: string;
  results: string;
  [k: string]: unknown;
}

const SLURM_KEYS = ['shards', 'name', 'partition', 'time', 'gpus-per-task', 'cpus-per-task', 'mem', 'account', 'sbatch-arg', 'submit', 'status'];
/** Run options a task does not take from the command line: the script sets them, or they would undo the split. */
const NOT_PASSED = new Set(['help', 'version', 'suite', 'shard', 'dry-run', 'rerun', 'worker', 'results', 'jobs', ...SLURM_KEYS]);
const SOURCE_BIN = fileURLToPath(new URL('../../bin/dampl.js', import.meta.url));
const DAMPL_BIN = existsSync(SOURCE_BIN) ? SOURCE_BIN : process.argv[1]!;

/** The options of `dampl bench run`, declared on `y`. */
const runBuilder = (y: Argv): Argv => (runCommand.builder as unknown as (y: Argv) => Argv)(y);

/** The `dampl bench run` arguments of the options given, as the run command declares them (so new run options pass through). */
function passThroughArgs(argv: Record<string, unknown>): string[] {
  const o = (runBuilder(yargs([])) as unknown as { getOptions(): unknown }).getOptions() as {
    key: Record<string, boolean>; boolean: string[]; default: Record<string, unknown>;
  };
  const out: string[] = [];
  const keys = [...Object.keys(o.key).filter((k) => !NOT_PASSED.has(k)), 'plugin'];
  for (const k of keys) {
    const v = argv[k];
    if (v === undefined || (o.default[k] !== undefined && JSON.stringify(v) === JSON.stringify(o.default[k]))) continue;
    if (o.boolean.includes(k)) out.push(v ? `--${k}` : `--no-${k}`);
    else if (Array.isArray(v)) { if (v.length) out.push(`--${k}`, ...v.map(String)); }
    else out.push(`--${k}`, String(v));
  }
  for (const k of ['verbose', 'quiet'] as const) if (argv[k]) out.push(`--${k}`);
  return ['--suite', String(argv.suite), '--backend', String(argv.backend), ...out];
}

function check(a: SlurmArgs): void {
  if (a.status) return;
  if (a.shards === undefined) throw new ConfigError('dampl bench slurm needs --shards N, the number of array tasks', 'e.g. --shards 4');
  if (!Number.isInteger(a.shards) || a.shards < 1) throw new ConfigError(`--shards must be an integer >= 1, got ${a.shards}`);
  for (const k of ['gpus-per-task', 'cpus-per-task'] as const) {
    const v = a[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new ConfigError(`--${k} must be an integer >= 0, got ${v}`);
  }
  if (a.shard !== undefined) throw new ConfigError('--shard is for one machine; dampl bench slurm splits the grid itself', 'leave out --shard and give --shards N');
  if (a['dry-run']) throw new ConfigError('dampl bench slurm submits nothing without --submit: it only writes and prints the scripts', 'leave out --dry-run');
  if (a.rerun) throw new ConfigError('--rerun would make every resubmission run its finished cells again', 'run `dampl bench run --rerun` on one machine, or remove the records to redo');
  if (a.backend === 'auto') {
    throw new ConfigError('dampl bench slurm needs the backend the tasks run on: cells are keyed by backend family, and the split is written here, not on the compute nodes',
      'add --backend webgpu (GPUs), --backend tensorflow (tfjs-node-gpu) or --backend wasm (CPUs)');
  }
  if (a.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(a.name)) throw new ConfigError(`--name must be letters, digits, '.', '_' or '-', got '${a.name}'`);
}

/** Every cell of the run's grid, with its estimated cost from the earlier records of its suite. */
async function gridCells(a: SlurmArgs) {
  const { runSuite, estimateOf } = await import('../runner.js');
  const { readRecords } = await import('../records.js');
  const { createLogger } = await import('@dampl/runtime');
  const { parseConfigArgs } = await import('../variants.js');
  const log = createLogger({ level: 'warn' });
  const suites = suitesFor(a.suite);
  const roots = parseRoots(a.root as string[] | undefined);
  const variants = await parseConfigArgs(a as never);
  const family = backendFamily(a.backend as BackendName);
  const cells = [];
  const from: string[] = [];
  for (const suite of suites) {
    const f = await suiteFilters(suite, suites, a.datasets as string[] | undefined, roots);
    if (!f.runs) continue;
    const r = await runSuite({
      suite, resultsDir: path.resolve(a.results), cacheDir: path.resolve(String(a.cache)), methods: a.methods as string[] | undefined, variants,
      datasets: f.datasets, tasks: a.tasks as string[] | undefined, seeds: a.seeds as number[] | undefined, model: a.model as string | undefined,
      roots: f.roots, dryRun: true, family, log, print: () => {},
    });
    const records = await readRecords(r.outDir, log);
    if (records.size) from.push(displayPath(r.outDir));
    const timings = new Map<string, number[]>();
    for (const rec of records.values()) timings.set(`${rec.method}\u0000${rec.dataset}`, [...(timings.get(`${rec.method}\u0000${rec.dataset}`) ?? []), rec.timings.totalSeconds]);
    for (const c of r.grid) {
      const e = estimateOf(timings, c);
      cells.push({ key: c.key, suite: c.suite, method: c.method, dataset: c.dataset, task: c.task, seed: c.seed, configHash: c.configHash, estimate: Number.isFinite(e) ? e : null });
    }
  }
  return { cells, from };
}

async function writeSplit(a: SlurmArgs, dir: string, runArgs: string[]): Promise<{ manifest: SlurmManifest; fresh: boolean; from: string[] }> {
  const { cells, from } = await gridCells(a);
  if (!cells.length) throw new ConfigError('the grid of these options has no cell', 'check --methods, --datasets and --tasks with `dampl bench run --dry-run`');
  const file = path.join(dir, MANIFEST_FILE);
  if (existsSync(file)) {
    const m = parseManifest(await readFile(file, 'utf8'), file);
    const d = compareWithGrid(m, cells);
    if (!d.gone.length && !d.added.length && m.shards.length !== a.shards) {
      throw new ConfigError(`${displayPath(file)} splits this grid in ${m.shards.length} part(s), not ${a.shards}`,
        `resubmit with --shards ${m.shards.length}, or give the new split its own --name (cells with a record are not run again in either)`);
    }
    if (d.gone.length || d.added.length) {
      throw new ConfigError(`${displayPath(file)} splits another grid: ${m.shards.length} part(s), ${d.gone.length} of its cell(s) not in this one${d.gone.length ? ` (${d.gone.slice(0, 3).map(cellLabel).join('; ')}${d.gone.length > 3 ? '; ...' : ''})` : ''}, ${d.added.length} new`,
        `the options or the code changed since the split; give this grid its own --name, or remove ${displayPath(dir)} to split it anew`);
    }
    return { manifest: m, fresh: false, from };
  }
  const manifest: SlurmManifest = {
    format: MANIFEST_FORMAT, version: MANIFEST_VERSION, name: path.basename(dir), created: new Date().toISOString(), commit: gitCommit(),
    runArgs, shards: splitCells(cells, a.shards!),
  };
  await mkdir(path.join(dir, 'logs'), { recursive: true });
  await atomicWriteFile(file, JSON.stringify(manifest, null, 1) + '\n');
  return { manifest, fresh: true, from };
}

async function submit(a: SlurmArgs, dir: string, m: SlurmManifest, results: string, suites: string[]): Promise<string[]> {
  const lines: string[] = [];
  const subs = await readSubmissions(dir);
  const active = activeTasks(subs);
  // a merge job of an earlier submission that still waits would merge too early or never
  const waiting = queueStates(subs.map((s) => s.merge));
  for (const [id, state] of waiting) {
    if (state !== 'PENDING' && state !== 'DEPENDENCY-NEVER-SATISFIED') continue;
    scancel(id);
    lines.push(`cancelled the earlier merge job ${id} (${state.toLowerCase()}); the new one replaces it`);
  }
  const status = await shardStatuses(dir, m, []);
  const tasks = status.filter((s) => s.done < s.cells && !active.has(s.index)).map((s) => s.index);
  for (const [i, id] of active) lines.push(`shard ${i} is still queued or running as ${id}: not submitted again; the merge waits for it`);
  const n = m.shards.length;
  let arrayId: string | undefined;
  if (tasks.length) {
    const all = tasks.length === n;
    arrayId = sbatch(path.join(dir, 'array.sh'), all ? [] : [`--array=${tasks.join(',')}`]);
    const left = status.filter((s) => tasks.includes(s.index)).reduce((x, s) => x + s.cells - s.done, 0);
    lines.push(`submitted array job ${arrayId}: task(s) ${all ? `1-${n}` : tasks.join(',')} of ${n}, ${left} cell(s) to run`);
  } else if (!active.size) {
    lines.push(`every cell of the ${n} part(s) has a record: no task submitted`);
  }
  const after = [...(arrayId ? [arrayId] : []), ...active.values()];
  const mergeId = sbatch(path.join(dir, 'merge.sh'), after.length ? [`--dependency=afterok:${after.join(':')}`, '--kill-on-invalid-dep=no'] : []);
  lines.push(`submitted merge job ${mergeId}${after.length ? ` (starts when ${after.join(', ')} succeed)` : ''}`);
  await addSubmission(dir, { date: new Date().toISOString(), array: arrayId, tasks, merge: mergeId });
  const ids = [...after, mergeId].join(',');
  lines.push('follow them with:', `  squeue -j ${ids}`, `  scontrol show job ${mergeId}`,
    `  tail -f ${displayPath(path.join(dir, 'logs'))}/shard-*.out ${displayPath(logPath(dir, 'merge'))}`,
    `  npx dampl bench slurm --status --results ${shellQuote(displayPath(results))} --name ${m.name}`);
  if (accountingConfigured()) lines.push(`  sacct -j ${ids}`);
  lines.push(`the merged tables: ${suites.map((s) => displayPath(path.join(results, s, 'results.csv'))).join(', ')}`);
  return lines;
}

function accountingConfigured(): boolean {
  const r = spawnSyncSafe('scontrol', ['show', 'config']);
  const m = /AccountingStorageType\s*=\s*(\S+)/.exec(r);
  return !!m && m[1] !== 'accounting_storage/none';
}

function spawnSyncSafe(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

export const slurmCommand: CommandModule<GlobalOptions, SlurmArgs> = {
  command: 'slurm',
  describe: 'write the grid of `bench run` as a SLURM job array and a merge job depending on it (--submit: submit them; --status: each part\'s cells)',
  builder: (y) => runBuilder(y as Argv)
    .hide('shard').hide('dry-run').hide('rerun').hide('worker')
    .option('shards', { type: 'number', describe: 'array tasks: the grid is split once into this many parts of about equal estimated cost' })
    .option('name', { type: 'string', describe: 'the folder of the scripts, <results>/slurm/<name>/ (default: the suite)' })
    .option('partition', { type: 'string', describe: 'sbatch --partition' })
    .option('time', { type: 'string', describe: 'sbatch --time of each task, e.g. 12:00:00' })
    .option('gpus-per-task', { type: 'number', describe: 'sbatch --gpus-per-task (with --backend webgpu or tensorflow)' })
    .option('cpus-per-task', { type: 'number', describe: 'sbatch --cpus-per-task (default 1); on wasm and cpu a task runs one worker process per CPU' })
    .option('mem', { type: 'string', describe: 'sbatch --mem of each task, e.g. 32G' })
    .option('account', { type: 'string', describe: 'sbatch --account' })
    .option('sbatch-arg', { type: 'string', array: true, describe: 'a further #SBATCH option for both scripts, e.g. --sbatch-arg=--qos=short' })
    .option('submit', { type: 'boolean', default: false, describe: 'submit the array and the merge job (default: print the scripts and the sbatch commands)' })
    .option('status', { type: 'boolean', default: false, describe: 'report each part\'s cells done, failed and left, from its results folder and log' }) as never,
  handler: async (argv) => {
    const results = path.resolve(argv.results ?? DEFAULT_RESULTS_DIR);
    const name = argv.name ?? argv.suite;
    const dir = path.join(results, 'slurm', name);
    const out = (lines: string[]) => process.stdout.write(lines.join('\n') + '\n');
    if (argv.status) {
      const file = path.join(dir, MANIFEST_FILE);
      if (!existsSync(file)) throw new ConfigError(`no split at ${displayPath(dir)}`, `write one with \`dampl bench slurm --shards N ...\`${argv.name ? '' : ', or name it with --name'}`);
      const m = parseManifest(await readFile(file, 'utf8'), file);
      out([`${m.name}: ${m.shards.length} part(s), split on ${m.commit} (${displayPath(file)})`, ...formatStatus(await shardStatuses(dir, m, await readSubmissions(dir)))]);
      return;
    }
    check(argv);
    await registerMethods(argv);
    const runArgs = passThroughArgs(argv);
    const { manifest, fresh, from } = await writeSplit(argv, dir, runArgs);
    const suites = [...new Set(manifest.shards.flatMap((s) => s.cells.map((c) => c.suite)))];
    const backend = String(argv.backend);
    const jobs = argv.jobs !== 'auto' ? Number(argv.jobs) : backend === 'wasm' || backend === 'cpu' ? 'cpus' as const : 1;
    const resources: SlurmResources = {
      shards: manifest.shards.length, partition: argv.partition, time: argv.time, gpusPerTask: argv['gpus-per-task'], cpusPerTask: argv['cpus-per-task'],
      mem: argv.mem, account: argv.account, sbatchArgs: argv['sbatch-arg'],
    };
    const mergeArgs = [...((argv.plugin as string[] | undefined) ?? []).flatMap((p) => ['--plugin', p]), ...(argv.report ? ['--report', String(argv.report)] : [])];
    const input: ScriptInput = { name, dir, results, suites, cwd: process.cwd(), node: process.execPath, bin: DAMPL_BIN, runArgs: manifest.runArgs, mergeArgs, jobs, resources };
    const scripts = { array: path.join(dir, 'array.sh'), merge: path.join(dir, 'merge.sh') };
    await atomicWriteFile(scripts.array, arrayScript(input));
    await atomicWriteFile(scripts.merge, mergeScript(input));
    const known = manifest.shards.some((s) => s.cells.some((c) => c.estimate !== null));
    const est = known ? `estimated ${manifest.shards.map((s) => formatSeconds(s.estimateSeconds)).join(', ')}` : 'no estimate';
    const lines = [`${fresh ? 'wrote' : 'kept'} ${displayPath(path.join(dir, MANIFEST_FILE))}: ${manifest.shards.reduce((a, s) => a + s.cells.length, 0)} cell(s) in ${manifest.shards.length} part(s)`
      + ` (${manifest.shards.map((s) => s.cells.length).join(', ')} cells; ${est}${fresh ? (from.length ? `, from the records in ${from.join(', ')}` : ', no earlier record: equal counts') : ''})`];
    if (!argv.submit) {
      for (const f of [scripts.array, scripts.merge]) lines.push(`--- ${displayPath(f)}`, (await readFile(f, 'utf8')).trimEnd());
      lines.push('---', 'submit them with (or run this command again with --submit):',
        `  jid=$(sbatch --parsable ${shellQuote(scripts.array)})`,
        `  sbatch --dependency=afterok:$jid ${shellQuote(scripts.merge)}`);
      out(lines);
      return;
    }
    out([...lines, ...(await submit(argv, dir, manifest, results, suites))]);
  },
};

