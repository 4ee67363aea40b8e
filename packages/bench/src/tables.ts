/**
 * The tables of a results folder, rebuilt from its run records: results.csv, summary.md (with the
 * published figures, and the suite's committed reference run beside this run's numbers), one SVG
 * chart per dataset table, and suite.json (the suite, its skipped datasets and reference, so that
 * `dampl bench merge` rebuilds the same summary).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { atomicWriteFile, workspaceRoot, type Logger } from '@dampl/runtime';
import { loadAnchors } from './anchors.js';
import type { Report } from './protocol.js';
import { renderChart } from './chart.js';
import { readRecords } from './records.js';
import { parseResultsCsv, resultsCsv, rowsFromRecords, type ResultRow } from './results.js';
import { summarize } from './summary.js';
import { renderSummary } from './summary-md.js';
import { displayPath, type SkippedDataset } from './suites.js';

const SUITE_FILE = 'suite.json';

export interface TablesOptions {
  /** Suite name for the title; default: the records' suites. */
  suite?: string;
  skipped?: SkippedDataset[];
  /** The suite's committed reference run (a results folder), set beside this one; default: suite.json's. */
  reference?: string;
  /** 'best' adds the best-epoch (oracle) figures; default: suite.json's, else 'last'. */
  report?: Report;
  log?: Logger;
}

interface SuiteFile {
  format: 'dampl-bench-suite';
  suite: string;
  skipped: { dataset: string; reason: string; command: string }[];
  /** Workspace-relative or absolute. */
  reference?: string;
  report?: Report;
}

/** The rows of a reference results folder, or undefined where it has none (or is `outDir` itself). */
async function referenceRows(dir: string | undefined, outDir: string): Promise<{ name: string; rows: ResultRow[] } | undefined> {
  if (!dir || path.resolve(dir) === path.resolve(outDir)) return undefined;
  const csv = path.join(dir, 'results.csv');
  if (!existsSync(csv)) return undefined;
  return { name: displayPath(path.resolve(dir)), rows: parseResultsCsv(await readFile(csv, 'utf8'), csv) };
}

export async function readSuiteFile(dir: string): Promise<SuiteFile | undefined> {
  const f = path.join(dir, SUITE_FILE);
  if (!existsSync(f)) return undefined;
  try {
    const j = JSON.parse(await readFile(f, 'utf8')) as SuiteFile;
    return j.format === 'dampl-bench-suite' ? j : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rebuilds results.csv, summary.md and one SVG per dataset table from the records under
 * `outDir/runs/`; returns the files written. `skipped` (else the last run's, from suite.json)
 * lists datasets without data that have no record.
 */
export async function writeTables(outDir: string, o: TablesOptions = {}): Promise<string[]> {
  const records = [...(await readRecords(outDir, o.log)).values()];
  const previous = await readSuiteFile(outDir);
  const suite = o.suite ?? previous?.suite ?? ([...new Set(records.map((r) => r.suite))].sort().join('+') || path.basename(outDir));
  const rows = rowsFromRecords(records, o.log);
  const withData = new Set(rows.map((r) => r.dataset));
  const skipped = (o.skipped ?? previous?.skipped ?? [])
    .filter((s) => !withData.has(s.dataset))
    .map((s) => ({ dataset: s.dataset, reason: s.reason, command: s.command }));
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    const f = path.join(outDir, name);
    await atomicWriteFile(f, text);
    files.push(f);
  };
  const referenceDir = o.reference ?? (previous?.reference && path.resolve(workspaceRoot, previous.reference));
  const reference = await referenceRows(referenceDir, outDir);
  const report = o.report ?? previous?.report ?? 'last';
  await write(SUITE_FILE, JSON.stringify({
    format: 'dampl-bench-suite', suite, skipped, ...(reference ? { reference: reference.name } : {}), ...(report !== 'last' ? { report } : {}),
  } satisfies SuiteFile, null, 2) + '\n');
  await write('results.csv', resultsCsv(rows));
  const keys = new Set(rows.map((r) => r.key));
  const shown = records.filter((r) => keys.has(r.key));
  const summary = summarize(suite, rows, loadAnchors(), { report, records: shown });
  const charts: Record<string, string> = {};
  for (const t of summary.tables) {
    charts[t.id] = `${t.id}.svg`;
    await write(charts[t.id]!, await renderChart(t));
  }
  await write('summary.md', renderSummary(summary, rows, {
    skipped, records: shown, charts, reference,
  }));
  return files;
}
