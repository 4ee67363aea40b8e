/**
 * SLURM's commands as `dampl bench slurm` uses them: sbatch to submit (`--parsable` prints the
 * job id), squeue for the state of the tasks of earlier submissions, scancel for a merge job whose
 * dependency can no longer be met.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DamplError, atomicWriteFile } from '@dampl/runtime';

const JOBS_FILE = 'jobs.json';

export interface Submission {
  date: string;
  /** The array job's id, and the tasks submitted (all, or those with cells left). */
  array?: string;
  tasks: number[];
  merge: string;
}

function slurm(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new DamplError(`${cmd} is not on PATH`, 'run this on a machine of the SLURM cluster (a login node), or leave out --submit to print the scripts');
  }
  if (r.status !== 0) throw new DamplError(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Submits a batch script; returns its job id. */
export function sbatch(script: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const out = slurm('sbatch', ['--parsable', ...args, script], env).trim();
  const id = out.split(';')[0]!;
  if (!/^\d+$/.test(id)) throw new DamplError(`sbatch printed '${out}', not a job id`);
  return id;
}

/** The state of each job or array task of `ids` that SLURM still lists (`123_4` -> RUNNING); empty without squeue. */
export function queueStates(ids: readonly string[], env?: NodeJS.ProcessEnv): Map<string, string> {
  const states = new Map<string, string>();
  if (!ids.length) return states;
  const r = spawnSync('squeue', ['-h', '-r', '-j', ids.join(','), '-o', '%i %T %r'], { encoding: 'utf8', env: env ?? process.env });
  if (r.error || r.status !== 0) return states;
  for (const line of r.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split(/\s+/);
    if (id && state) states.set(id, reason === 'DependencyNeverSatisfied' ? 'DEPENDENCY-NEVER-SATISFIED' : state);
  }
  return states;
}

export function scancel(id: string, env?: NodeJS.ProcessEnv): void {
  slurm('scancel', [id], env);
}

export async function readSubmissions(dir: string): Promise<Submission[]> {
  const f = path.join(dir, JOBS_FILE);
  return existsSync(f) ? (JSON.parse(await readFile(f, 'utf8')) as { submissions: Submission[] }).submissions : [];
}

export async function addSubmission(dir: string, s: Submission): Promise<void> {
  const all = [...(await readSubmissions(dir)), s];
  await atomicWriteFile(path.join(dir, JOBS_FILE), JSON.stringify({ submissions: all }, null, 1) + '\n');
}

/** The array tasks of earlier submissions that are pending or running: task index -> `<array id>_<index>`. */
export function activeTasks(subs: readonly Submission[], env?: NodeJS.ProcessEnv): Map<number, string> {
  const arrays = [...new Set(subs.map((s) => s.array).filter((a): a is string => !!a))];
  const states = queueStates(arrays, env);
  const active = new Map<number, string>();
  for (const [id, state] of states) {
    const m = /^(\d+)_(\d+)$/.exec(id);
    if (m && (state === 'PENDING' || state === 'RUNNING' || state === 'CONFIGURING' || state === 'COMPLETING' || state === 'REQUEUED')) active.set(Number(m[2]), id);
  }
  return active;
}
