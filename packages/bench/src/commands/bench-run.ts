/**
 * `dampl bench run`: the benchmark grid in this process, in worker processes (--jobs) or for one
 * shard (--shard), with the options `dampl bench slurm` passes on to its jobs.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { ConfigError, backendFamily, createLogger, selectBackend, type BackendName } from '@dampl/runtime';
import type { Report } from '../protocol.js';
import { RUNS_DIR } from '../records.js';
import { DEFAULT_FEATURE_CACHE } from './features.js';
import { loggerFor, registerMethods, useBackend, type GlobalOptions } from './common.js';
import { parseShard } from '../shard.js';
import { methodSpecs } from '../grid.js';
import { checkSpecs, expandSpecs, parseConfigArgs, type MethodVariants } from '../variants.js';
import { DEFAULT_RESULTS_DIR, SUITE_CHOICES, displayPath, suitesFor, type Suite } from '../suites.js';

interface RunArgs extends GlobalOptions {
  suite: string;
  methods?: string[];
  datasets?: string[];
  tasks?: string[];
  seeds?: number[];
  model?: string;
  root?: string[];
  shard?: string;
  'dry-run': boolean;
  rerun: boolean;
  'fail-fast': boolean;
  results: string;
  cache: string;
  'batch-size': number;
  jobs: string;
  worker?: number;
  config?: string[];
  set?: string[];
  sweep?: string[];
  report?: Report;
}

/** The methods' configs on every dataset the run names (or all of its suites'). */
async function checkRunConfigs(a: RunArgs, suites: Suite[], variants: MethodVariants): Promise<void> {
  const { getDataset } = await import('@dampl/data');
  const wanted = a.datasets?.map((d) => getDataset(d).name);
  const datasets = [...new Set(suites.flatMap((s) => s.datasets.map((d) => d.dataset)))].filter((d) => !wanted || wanted.includes(d));
  await checkSpecs(expandSpecs(methodSpecs(a.methods), variants), datasets);
}

export function parseRoots(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--root takes dataset=path, got '${p}'`, 'e.g. --root office-home=/data/OfficeHome');
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** The filters that apply to `suite` (for --suite all, each suite takes the datasets it has). */
export async function suiteFilters(suite: Suite, all: Suite[], datasets: string[] | undefined, roots: Record<string, string>) {
  const { getDataset } = await import('@dampl/data');
  const has = (s: Suite, n: string) => s.datasets.some((d) => d.dataset === getDataset(n).name);
  for (const n of [...(datasets ?? []), ...Object.keys(roots)]) {
    if (!all.some((s) => has(s, n))) {
      throw new ConfigError(`dataset ${n} is in none of the suites run (${all.map((s) => s.name).join(', ')})`,
        `${all.map((s) => `${s.name}: ${s.datasets.map((d) => d.dataset).join(', ')}`).join('; ')}`);
    }
  }
  const mine = datasets?.filter((n) => has(suite, n));
  const myRoots = Object.fromEntries(Object.entries(roots).filter(([n]) => has(suite, n)).map(([n, p]) => [getDataset(n).name, p]));
  return { datasets: mine, roots: myRoots, runs: !datasets?.length || !!mine?.length };
}

/** The script a worker process runs: bin/dampl.js, or the bundle this code is part of (the GPU kit). */
const SOURCE_BIN = fileURLToPath(new URL('../../bin/dampl.js', import.meta.url));
const DAMPL_BIN = existsSync(SOURCE_BIN) ? SOURCE_BIN : process.argv[1]!;

/** The arguments that make a worker process run the same grid as its parent. */
function workerArgs(a: RunArgs, suite: Suite, f: { datasets?: string[]; roots: Record<string, string> }, backend: string): string[] {
  const out = ['--suite', suite.name, '--results', path.resolve(a.results), '--cache', path.resolve(a.cache), '--batch-size', String(a['batch-size']), '--backend', backend, '--jobs', '1'];
  const list = (flag: string, v?: readonly (string | number)[]) => { if (v?.length) out.push(flag, ...v.map(String)); };
  list('--methods', a.methods);
  list('--datasets', f.datasets);
  list('--tasks', a.tasks);
  list('--seeds', a.seeds);
  list('--root', Object.entries(f.roots).map(([k, v]) => `${k}=${path.resolve(v)}`));
  list('--config', a.config?.map((c) => path.resolve(c)));
  list('--set', a.set);
  list('--sweep', a.sweep);
  if (a.model) out.push('--model', a.model);
  if (a.shard) out.push('--shard', a.shard);
  if (a.rerun) out.push('--rerun');
  if (a['fail-fast']) out.push('--fail-fast');
  list('--plugin', a.plugin?.map((p) => (p.startsWith('.') ? path.resolve(p) : p)));
  if (a.verbose) out.push('--verbose');
  if (a.quiet) out.push('--quiet');
  return out;
}

export const REPORT_OPTION = {
  choices: ['last', 'best'] as const satisfies readonly Report[],
  describe: "the tables' epoch: last (default); best also sets the best epoch on the target test set beside it (an oracle, as the published prompt-learning runs report) and compares it with sources that report their best; kept for the folder",
} as const;

export const runCommand: CommandModule<GlobalOptions, RunArgs> = {
  command: 'run',
  describe: 'run every registered method on every task of the suite\'s datasets (resumable; `nx run bench:all` = --suite all)',
  builder: (y) => y
    .option('suite', { choices: SUITE_CHOICES, default: 'synth', describe: 'synth: the generated world and its tiny CLIP; real: Office-Home, mini-DomainNet, VisDA-2017 where present, with ViT-B/16; all: both' })
    .option('methods', { type: 'string', array: true, describe: 'methods to run, as registered (name, or name@config for a named config); default: all registered' })
    .option('datasets', { type: 'string', array: true, describe: 'datasets to run (default: all of the suite)' })
    .option('tasks', { type: 'string', array: true, describe: 'tasks to run, e.g. A-C ph-cl (default: all)' })
    .option('seeds', { type: 'number', array: true, describe: 'seeds to run (default: 1 on synth, 1 2 3 on real)' })
    .option('model', { type: 'string', describe: 'CLIP model: Hugging Face directory, OpenAI-layout .safetensors or hub id (default: the suite\'s)' })
    .option('root', { type: 'string', array: true, describe: 'data root of a dataset, as dataset=path (default: datasets/<folder>)' })
    .option('config', { type: 'string', array: true, describe: 'JSON file of method values, {"dampl": {"lr": 0.002}}; files apply in order' })
    .option('set', { type: 'string', array: true, describe: 'a method\'s value, method.key=value (e.g. dampl.lr=0.002); over --config; `dampl methods <method>` lists the keys' })
    .option('sweep', { type: 'string', array: true, describe: 'a grid axis, method.key=v1,v2,... (e.g. dampl.mu=0.5,1,2): one variant of the method per value' })
    .option('shard', { type: 'string', describe: 'run part i of n of the grid (i/n), or part i of the split in a manifest of `bench slurm` (i/n@manifest.json); join the parts with `dampl bench merge`' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'list the grid and estimate its cost from earlier records; run nothing' })
    .option('rerun', { type: 'boolean', default: false, describe: 'run finished cells again' })
    .option('report', REPORT_OPTION)
    .option('fail-fast', { type: 'boolean', default: false, describe: 'stop at the first failing cell (default: record the others, then fail)' })
    .option('results', { type: 'string', default: DEFAULT_RESULTS_DIR, describe: 'results folder; a suite writes to <results>/<suite>/' })
    .option('cache', { type: 'string', default: DEFAULT_FEATURE_CACHE, describe: 'feature cache folder' })
    .option('batch-size', { type: 'number', default: 32, describe: 'images per image-encoder call' })
    .option('jobs', { type: 'string', default: 'auto', describe: 'worker processes running cells side by side (auto: one per core on the single-threaded wasm and cpu backends, else 1)' })
    .option('worker', { type: 'number', hidden: true, describe: 'run as worker i of --jobs (started by the parent)' })
    .check((a) => {
      if (a.jobs !== 'auto' && !(Number.isInteger(Number(a.jobs)) && Number(a.jobs) >= 1)) throw new ConfigError(`--jobs must be auto or an integer >= 1, got ${a.jobs}`);
      if (a.shard !== undefined) parseShard(a.shard);
      for (const s of a.seeds ?? []) if (!Number.isInteger(s) || s < 0) throw new ConfigError(`--seeds takes integers >= 0, got ${s}`);
      if (!Number.isInteger(a['batch-size']) || a['batch-size'] < 1) throw new ConfigError(`--batch-size must be an integer >= 1, got ${a['batch-size']}`);
      return true;
    }) as never,
  handler: async (argv) => {
    const log = argv.worker ? createLogger({ level: argv.verbose ? 'debug' : argv.quiet ? 'warn' : 'info', scope: `worker ${argv.worker}` }) : loggerFor(argv);
    await registerMethods(argv);
    const { runSuite, formatSeconds, CellsFailed } = await import('../runner.js');
    const { runSuiteWithWorkers, CLAIMS_DIR } = await import('../jobs.js');
    const suites = suitesFor(argv.suite);
    if (argv.model && suites.length > 1) throw new ConfigError('--model sets the model of one suite', 'use --suite synth or --suite real with --model');
    const roots = parseRoots(argv.root);
    const shard = argv.shard ? parseShard(argv.shard) : undefined;
    // every method's config on every dataset of the run is resolved before any work: a bad key or
    // value stops the run here, with the method's valid keys
    const variants = await parseConfigArgs(argv);
    await checkRunConfigs(argv, suites, variants);
    // a dry run keys its cells by the family of the backend that would run them; a named backend
    // is not loaded for it (a grid for a GPU can be listed on a machine without one)
    const backend = argv['dry-run'] && argv.backend !== 'auto' ? undefined
      : argv.worker ? await selectBackend(argv.backend) : await useBackend(argv, log);
    const family = backend ? backendFamily(backend.name) : backendFamily(argv.backend as BackendName);
    const jobs = argv.worker || argv['dry-run'] ? 1 : argv.jobs === 'auto'
      ? (backend && (backend.name === 'wasm' || backend.name === 'cpu') ? os.availableParallelism() : 1)
      : Number(argv.jobs);
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      log.warn('stopping after the running step (Ctrl-C again to quit now); finished cells are kept');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    const started = Date.now();
    const lines: string[] = [];
    const failures: Error[] = [];
    try {
      for (const suite of suites) {
        const f = await suiteFilters(suite, suites, argv.datasets, roots);
        if (!f.runs) continue;
        const resultsDir = path.resolve(argv.results);
        const opts = {
          suite, resultsDir, cacheDir: path.resolve(argv.cache),
          methods: argv.methods, variants, datasets: f.datasets, tasks: argv.tasks, seeds: argv.seeds, model: argv.model, roots: f.roots,
          shard, dryRun: argv['dry-run'], rerun: argv.rerun, failFast: argv['fail-fast'], backend, family, batchSize: argv['batch-size'],
          report: argv.report, log, signal: controller.signal,
        };
        let r;
        try {
          r = argv.worker
            ? await runSuite({ ...opts, claimDir: path.join(resultsDir, suite.name, RUNS_DIR, CLAIMS_DIR) })
            : jobs > 1
              ? await runSuiteWithWorkers(opts, { jobs, command: (i) => [DAMPL_BIN, 'bench', 'run', ...workerArgs(argv, suite, f, backend!.name), '--worker', String(i)] })
              : await runSuite(opts);
        } catch (e) {
          // failed cells of one suite do not keep the next suite from running
          if (!(e instanceof CellsFailed) || argv['fail-fast']) throw e;
          failures.push(e);
          lines.push(`${suite.name}: ${e.message}`);
          continue;
        }
        if (argv.worker) continue;
        const ran = r.outcomes.filter((o) => !o.error).length;
        lines.push(`${suite.name}: ${r.grid.length} cell(s)${shard ? `, ${r.mine.length} in shard ${shard.index}/${shard.count}` : ''}; `
          + (argv['dry-run'] ? `${r.pending.length} to run` : `${ran} run now, ${r.finished.length} finished earlier`)
          + (r.files.length ? `; tables in ${displayPath(r.outDir)}` : ''));
        for (const s of r.skipped) lines.push(`  skipped ${s.dataset}: ${s.reason}; get it with: ${s.command}`);
        if (controller.signal.aborted) break;
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (argv.worker) {
      if (failures.length) throw failures[0];
      return;
    }
    if (!argv['dry-run']) lines.push(`done in ${formatSeconds((Date.now() - started) / 1000)}${jobs > 1 ? ` with up to ${jobs} worker processes` : ''}`);
    process.stdout.write(lines.join('\n') + '\n');
    if (failures.length) throw failures[0];
    if (controller.signal.aborted) process.exitCode = 130;
  },
};
