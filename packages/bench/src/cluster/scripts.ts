/**
 * The two batch scripts of `dampl bench slurm`: a job array whose task i runs part i of the
 * manifest's split (`dampl bench run ... --shard i/n@manifest.json`) into its own results folder
 * with its own log, and a merge job (submitted with `--dependency=afterok:<array id>`) that joins
 * the parts' records into the final tables with `dampl bench merge`.
 *
 *   <results>/slurm/<name>/
 *     manifest.json      the split: each part's cells (written once; see manifest.ts)
 *     array.sh           the job array, `#SBATCH --array=1-n`
 *     merge.sh           the merge job
 *     jobs.json          the job ids of each submission
 *     logs/shard-<i>.out each task's log (appended to by a resubmission), logs/merge.out
 *     shards/<i>/<suite>/ each task's records and tables
 *   <results>/<suite>/   the merged tables (results.csv, summary.md, the charts)
 */
import path from 'node:path';
import { MANIFEST_FILE } from './manifest.js';

export interface SlurmResources {
  shards: number;
  partition?: string;
  time?: string;
  gpusPerTask?: number;
  cpusPerTask?: number;
  mem?: string;
  account?: string;
  /** Further `#SBATCH` lines for both scripts, e.g. `--qos=short`, `--constraint=a100`. */
  sbatchArgs?: string[];
}

export interface ScriptInput {
  name: string;
  /** `<results>/slurm/<name>`, absolute. */
  dir: string;
  /** The results root, absolute: the merged tables go to `<results>/<suite>/`. */
  results: string;
  /** The suites the grid has cells of. */
  suites: string[];
  /** Where the jobs start (the submitting directory): relative paths of the options are from there. */
  cwd: string;
  /** The Node binary and the dampl script. */
  node: string;
  bin: string;
  /** `dampl bench run` options, the same for every task. */
  runArgs: string[];
  /** Options of `dampl bench merge` (--plugin, --report). */
  mergeArgs: string[];
  /**
   * The task's worker processes: `cpus` runs one per CPU SLURM gives the task
   * (SLURM_CPUS_PER_TASK), for the single-threaded wasm and cpu backends; a number runs that many.
   */
  jobs: 'cpus' | number;
  resources: SlurmResources;
}

/** Single-quotes an argument for bash where it needs it. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-.,:/=@+%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const q = shellQuote;

function sbatchLines(r: SlurmResources, array: boolean, cpus: number | undefined): string[] {
  const out: string[] = [];
  if (r.partition) out.push(`--partition=${r.partition}`);
  if (r.account) out.push(`--account=${r.account}`);
  if (r.time) out.push(`--time=${r.time}`);
  if (cpus) out.push(`--cpus-per-task=${cpus}`);
  if (array && r.gpusPerTask) out.push(`--gpus-per-task=${r.gpusPerTask}`);
  if (array && r.mem) out.push(`--mem=${r.mem}`);
  out.push(...(r.sbatchArgs ?? []));
  return out.map((a) => `#SBATCH ${a}`);
}

export const logPath = (dir: string, shard: number | 'merge') => path.join(dir, 'logs', shard === 'merge' ? 'merge.out' : `shard-${shard}.out`);
export const shardResults = (dir: string, shard: number) => path.join(dir, 'shards', String(shard));

/** The job array: task i runs part i of the manifest. */
export function arrayScript(s: ScriptInput): string {
  const n = s.resources.shards;
  const manifest = path.join(s.dir, MANIFEST_FILE);
  const run = [q(s.node), q(s.bin), 'bench', 'run', ...s.runArgs.map(q),
    '--results', `${q(path.join(s.dir, 'shards'))}/"$i"`, '--shard', `"$i/${n}@"${q(manifest)}`,
    '--jobs', s.jobs === 'cpus' ? '"${SLURM_CPUS_PER_TASK:-1}"' : String(s.jobs)];
  return [
    '#!/bin/bash',
    `# The grid ${s.name} in ${n} part(s), one task of this array each (written by \`dampl bench slurm\`).`,
    `# Task i runs the cells ${MANIFEST_FILE} lists for part i into shards/i/, logging to logs/shard-i.out;`,
    '# a resubmission (the same `dampl bench slurm` command, or `sbatch --array=i array.sh`) runs only',
    '# the cells without a record.',
    `#SBATCH --job-name=dampl-${s.name}`,
    `#SBATCH --array=1-${n}`,
    `#SBATCH --output=${logPath(s.dir, 1).replace(/shard-1\.out$/, 'shard-%a.out')}`,
    '#SBATCH --open-mode=append',
    ...sbatchLines(s.resources, true, s.resources.cpusPerTask ?? 1),
    'set -uo pipefail',
    `cd ${q(s.cwd)} || exit 1`,
    'i="${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}"',
    `echo "dampl-slurm: shard $i/${n} start: job \${SLURM_JOB_ID:-?} on $(hostname) at $(date -u +%FT%TZ)"`,
    run.join(' '),
    'rc=$?',
    `echo "dampl-slurm: shard $i/${n} exit $rc at $(date -u +%FT%TZ)"`,
    'exit "$rc"',
    '',
  ].join('\n');
}

/** The merge job: every part's records of each suite into `<results>/<suite>/`. */
export function mergeScript(s: ScriptInput): string {
  const n = s.resources.shards;
  const dampl = `${q(s.node)} ${q(s.bin)}`;
  return [
    '#!/bin/bash',
    `# Joins the ${n} part(s) of the grid ${s.name} into the tables of ${s.results}/<suite>/ (written by \`dampl bench slurm\`;`,
    '# submitted to start once every task of the array has finished).',
    `#SBATCH --job-name=dampl-${s.name}-merge`,
    `#SBATCH --output=${logPath(s.dir, 'merge')}`,
    '#SBATCH --open-mode=append',
    ...sbatchLines(s.resources, false, 1),
    'set -euo pipefail',
    `cd ${q(s.cwd)}`,
    'echo "dampl-slurm: merge start: job ${SLURM_JOB_ID:-?} at $(date -u +%FT%TZ)"',
    `${dampl} bench slurm --status --results ${q(s.results)} --name ${q(s.name)}`,
    `for suite in ${s.suites.map(q).join(' ')}; do`,
    '  dirs=()',
    `  for i in $(seq 1 ${n}); do`,
    `    d=${q(path.join(s.dir, 'shards'))}/"$i/$suite"`,
    '    if [ -d "$d/runs" ]; then dirs+=("$d"); fi',
    '  done',
    '  if [ "${#dirs[@]}" -gt 0 ]; then',
    `    ${dampl} bench merge "\${dirs[@]}" --out ${q(s.results)}/"$suite"${s.mergeArgs.length ? ' ' + s.mergeArgs.map(q).join(' ') : ''}`,
    '  fi',
    'done',
    'echo "dampl-slurm: merge exit 0 at $(date -u +%FT%TZ)"',
    '',
  ].join('\n');
}
