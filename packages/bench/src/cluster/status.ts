/**
 * `dampl bench slurm --status`: for each part of the split, the cells done (a record in its
 * results folder), failed (named by the last attempt's log as failing) and left, and what the
 * task is doing (SLURM's state where squeue still lists it, else what its log says).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { recordPath } from '../records.js';
import { cellLabel, type ManifestCell, type SlurmManifest } from './manifest.js';
import { logPath, shardResults } from './scripts.js';
import { queueStates, type Submission } from './sbatch.js';
import path from 'node:path';

export interface ShardStatus {
  index: number;
  cells: number;
  done: number;
  failed: ManifestCell[];
  left: number;
  /** pending, running (SLURM), finished, failed (exit n), stopped (killed, preempted or out of time), not started. */
  state: string;
  log: string;
}

/** What the last attempt in a task's log says: its exit code (if it got to the end) and the cells it names as failing. */
export function lastAttempt(log: string): { started: boolean; exit?: number; failing: Set<string> } {
  const lines = log.split('\n');
  let from = -1;
  for (let i = lines.length - 1; i >= 0; i--) if (/^dampl-slurm: shard \d+\/\d+ start/.test(lines[i]!)) { from = i; break; }
  if (from < 0) return { started: false, failing: new Set() };
  const mine = lines.slice(from);
  const exitLine = mine.find((l) => /^dampl-slurm: shard \d+\/\d+ exit \d+/.test(l));
  const failing = new Set<string>();
  for (const l of mine) {
    const m = /cell\(s\) (?:failed|were not finished)(?: \([^)]*\))?: (.*)$/.exec(l);
    if (!m) continue;
    for (const part of m[1]!.split('; ')) {
      const c = /^(\S+) (\S+) (\S+) seed (\d+)$/.exec(part.trim());
      if (c) failing.add(`${c[1]} ${c[2]} ${c[3]} seed ${c[4]}`);
    }
  }
  return { started: true, exit: exitLine ? Number(/exit (\d+)/.exec(exitLine)![1]) : undefined, failing };
}

export async function shardStatuses(dir: string, m: SlurmManifest, subs: readonly Submission[], env?: NodeJS.ProcessEnv): Promise<ShardStatus[]> {
  const last = subs[subs.length - 1];
  const states = queueStates(last?.array ? [last.array] : [], env);
  const out: ShardStatus[] = [];
  for (const s of m.shards) {
    const results = shardResults(dir, s.index);
    const isDone = (c: ManifestCell) => existsSync(recordPath(path.join(results, c.suite), c.key));
    const log = logPath(dir, s.index);
    const attempt = existsSync(log) ? lastAttempt(await readFile(log, 'utf8')) : { started: false, failing: new Set<string>() };
    const notDone = s.cells.filter((c) => !isDone(c));
    const failed = notDone.filter((c) => attempt.failing.has(cellLabel(c)));
    const queued = last?.array ? states.get(`${last.array}_${s.index}`) : undefined;
    const state = queued ? queued.toLowerCase()
      : !attempt.started ? (notDone.length ? 'not started' : 'finished')
        : attempt.exit === undefined ? 'stopped (killed, preempted or out of time)'
          : attempt.exit === 0 && !notDone.length ? 'finished' : `failed (exit ${attempt.exit})`;
    out.push({ index: s.index, cells: s.cells.length, done: s.cells.length - notDone.length, failed, left: notDone.length - failed.length, state, log });
  }
  return out;
}

export function formatStatus(rows: readonly ShardStatus[]): string[] {
  const lines = [`${'shard'.padEnd(6)} ${'cells'.padStart(5)} ${'done'.padStart(5)} ${'failed'.padStart(6)} ${'left'.padStart(5)}  state`];
  for (const r of rows) {
    lines.push(`${String(r.index).padEnd(6)} ${String(r.cells).padStart(5)} ${String(r.done).padStart(5)} ${String(r.failed.length).padStart(6)} ${String(r.left).padStart(5)}  ${r.state}`);
    for (const f of r.failed) lines.push(`         failed: ${cellLabel(f)} (see ${r.log})`);
  }
  const t = (k: 'cells' | 'done' | 'left') => rows.reduce((a, r) => a + r[k], 0);
  lines.push(`${'all'.padEnd(6)} ${String(t('cells')).padStart(5)} ${String(t('done')).padStart(5)} ${String(rows.reduce((a, r) => a + r.failed.length, 0)).padStart(6)} ${String(t('left')).padStart(5)}`);
  return lines;
}
