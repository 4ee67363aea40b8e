/** What a run is expected to cost, from the timings of earlier records, and how durations are shown. */
import type { Cell } from './grid.js';
import type { RunRecord } from './records.js';
import { displayPath, type SkippedDataset } from './suites.js';

/** A suite's grid as the runner split it (runner.ts SuiteReport adds what a run did): what the dry-run listing reads. */
export interface DryRunReport {
  suite: string;
  outDir: string;
  model: string;
  grid: Cell[];
  /** This shard's cells. */
  mine: Cell[];
  /** Cells whose record existed before this run. */
  finished: Cell[];
  /** Cells this run had to run (or, in a dry run, would run). */
  pending: Cell[];
  skipped: SkippedDataset[];
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function estimateOf(timings: Map<string, number[]>, c: Cell): number {
  const same = timings.get(`${c.method}\u0000${c.dataset}`);
  if (same?.length) return same.reduce((a, b) => a + b, 0) / same.length;
  const all = [...timings.values()].flat();
  return all.length ? all.reduce((a, b) => a + b, 0) / all.length : NaN;
}

export function printDryRun(r: DryRunReport, records: Map<string, RunRecord>, print: (l: string) => void): { seconds: number; unknown: number } {
  const timings = new Map<string, number[]>();
  for (const rec of records.values()) {
    const k = `${rec.method}\u0000${rec.dataset}`;
    timings.set(k, [...(timings.get(k) ?? []), rec.timings.totalSeconds]);
  }
  const pendingKeys = new Set(r.pending.map((c) => c.key));
  const mineKeys = new Set(r.mine.map((c) => c.key));
  print(`suite ${r.suite}: model ${r.model}, results in ${displayPath(r.outDir)}`);
  for (const s of r.skipped) print(`  skipped ${s.dataset}: ${s.reason}; get it with: ${s.command}`);
  print(`  ${'status'.padEnd(11)} ${'dataset'.padEnd(14)} ${'task'.padEnd(15)} ${'method'.padEnd(24)} ${'seed'.padStart(4)}  config            cell`);
  for (const c of r.grid) {
    const status = !mineKeys.has(c.key) ? 'other-shard' : pendingKeys.has(c.key) ? 'to-run' : 'done';
    print(`  ${status.padEnd(11)} ${c.dataset.padEnd(14)} ${c.task.padEnd(15)} ${c.method.padEnd(24)} ${String(c.seed).padStart(4)}  ${c.configHash.slice(0, 16)}  ${c.key}`);
  }
  // estimate per (dataset, method)
  let seconds = 0;
  let unknown = 0;
  const groups = new Map<string, Cell[]>();
  for (const c of r.pending) groups.set(`${c.dataset}\u0000${c.method}`, [...(groups.get(`${c.dataset}\u0000${c.method}`) ?? []), c]);
  const lines: string[] = [];
  for (const [k, cells] of groups) {
    const [dataset, method] = k.split('\u0000') as [string, string];
    const est = estimateOf(timings, cells[0]!);
    if (Number.isFinite(est)) seconds += est * cells.length;
    else unknown += cells.length;
    lines.push(`  ${dataset.padEnd(14)} ${method.padEnd(24)} ${String(cells.length).padStart(5)}  ${Number.isFinite(est) ? `${formatSeconds(est)} each, ${formatSeconds(est * cells.length)}` : 'no earlier timing'}`);
  }
  print(`${r.grid.length} cell(s); ${r.mine.length} in this shard; ${r.finished.length} done; ${r.pending.length} to run`);
  if (lines.length) {
    print(`  ${'dataset'.padEnd(14)} ${'method'.padEnd(24)} ${'cells'.padStart(5)}  estimate (from earlier records in ${displayPath(r.outDir)})`);
    for (const l of lines) print(l);
    const known = r.pending.length - unknown;
    print(`${known ? `estimated training time of ${known} cell(s): ${formatSeconds(seconds)} in one process` : 'no estimate'}`
      + `${unknown ? `; ${unknown} cell(s) with no earlier timing` : ''}; feature extraction, when the cache lacks a domain, comes on top`);
  }
  return { seconds, unknown };
}
