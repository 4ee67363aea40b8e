/**
 * The results table: one row per (method, dataset, task, seed) with the accuracy recomputed from
 * the record's predictions, written to results.csv with csv-stringify and read back with csv-parse.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { FormatError, type Logger } from '@dampl/runtime';
import { evaluate, type MetricName } from '@dampl/data';
import { bestEpoch } from './epochs.js';
import { recordPredictions, type RunRecord } from './records.js';

export interface ResultRow {
  suite: string;
  dataset: string;
  task: string;
  method: string;
  seed: number;
  /** The dataset's reported number, in percent. */
  metric: MetricName;
  /** The metric after the last epoch: the record's predictions. */
  value: number;
  /** The metric at the best epoch on the target test set (an oracle, as the anchors report), and that epoch; null without per-epoch scores. */
  bestValue: number | null;
  bestEpoch: number | null;
  /** Epochs the method trained (0 for methods without epochs; null in tables written before the column). */
  epochs: number | null;
  /** Overall and mean-class accuracy, in percent. */
  accuracy: number;
  meanClassAccuracy: number;
  nTest: number;
  model: string;
  /** The published backbone name, '' when the model is not a published one. */
  backbone: string;
  weightsHash: string;
  configHash: string;
  fitSeconds: number;
  backend: string;
  commit: string;
  date: string;
  key: string;
}

/** CSV column -> row field, in column order. */
const COLUMNS: [string, keyof ResultRow][] = [
  ['suite', 'suite'], ['dataset', 'dataset'], ['task', 'task'], ['method', 'method'], ['seed', 'seed'],
  ['metric', 'metric'], ['value', 'value'], ['best_epoch_value', 'bestValue'], ['best_epoch', 'bestEpoch'], ['epochs', 'epochs'], ['accuracy', 'accuracy'], ['mean_class_accuracy', 'meanClassAccuracy'],
  ['n_test', 'nTest'], ['model', 'model'], ['backbone', 'backbone'], ['weights_sha256', 'weightsHash'],
  ['config_hash', 'configHash'], ['fit_seconds', 'fitSeconds'], ['backend', 'backend'], ['commit', 'commit'],
  ['date', 'date'], ['record', 'key'],
];
const NUMERIC = new Set<keyof ResultRow>(['seed', 'value', 'accuracy', 'meanClassAccuracy', 'nTest', 'fitSeconds']);
/** Numbers that are empty where a record has none. */
const OPTIONAL_NUMERIC = new Set<keyof ResultRow>(['bestValue', 'bestEpoch', 'epochs']);
/** Columns that tables written before them lack: read as empty. */
const ADDED_LATER = new Set<keyof ResultRow>(['bestValue', 'bestEpoch', 'epochs']);

/** A row of the table, its numbers computed from the record's predictions by @dampl/data's metrics. */
export function rowFromRecord(r: RunRecord): ResultRow {
  const { predicted, labels } = recordPredictions(r);
  const ev = evaluate(predicted, labels, r.data.classes.length, r.data.metric);
  const best = bestEpoch(r.epochs, ev.perClass.map((c) => c.total), r.data.metric);
  return {
    suite: r.suite, dataset: r.dataset, task: r.task, method: r.method, seed: r.seed,
    metric: r.data.metric, value: 100 * ev.value, bestValue: best ? 100 * best.value : null, bestEpoch: best?.epoch ?? null,
    epochs: r.history.length, accuracy: 100 * ev.accuracy, meanClassAccuracy: 100 * ev.meanClassAccuracy,
    nTest: ev.n, model: r.model.id, backbone: r.model.backbone ?? '', weightsHash: r.model.weightsHash, configHash: r.configHash,
    fitSeconds: r.timings.fitSeconds, backend: r.provenance.backendName, commit: r.provenance.commit, date: r.provenance.date, key: r.key,
  };
}

/**
 * The records a table shows: for each (suite, method, model, dataset, task, seed) the latest one.
 * Older ones (another config of the same method) are returned apart, to be reported.
 */
function latestRecords(records: Iterable<RunRecord>): { kept: RunRecord[]; superseded: RunRecord[] } {
  const best = new Map<string, RunRecord>();
  const superseded: RunRecord[] = [];
  for (const r of records) {
    const id = JSON.stringify([r.suite, r.method, r.model.id, r.dataset, r.task, r.seed]);
    const prev = best.get(id);
    if (!prev) { best.set(id, r); continue; }
    const newer = r.provenance.date > prev.provenance.date || (r.provenance.date === prev.provenance.date && r.key > prev.key);
    superseded.push(newer ? prev : r);
    if (newer) best.set(id, r);
  }
  return { kept: [...best.values()], superseded };
}

export function rowsFromRecords(records: Iterable<RunRecord>, log?: Logger): ResultRow[] {
  const { kept, superseded } = latestRecords(records);
  for (const r of superseded) log?.warn(`record ${r.key} (${r.method} ${r.dataset} ${r.task} seed ${r.seed}, config ${r.configHash.slice(0, 8)}) is superseded by a newer run of the same cell`);
  return sortRows(kept.map(rowFromRecord));
}

/** Rows in a fixed order: suite, dataset, task, method, seed (strings by code unit). */
function sortRows(rows: ResultRow[]): ResultRow[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows].sort((a, b) => cmp(a.suite, b.suite) || cmp(a.dataset, b.dataset) || cmp(a.task, b.task)
    || cmp(a.method, b.method) || a.seed - b.seed || cmp(a.model, b.model));
}

export function resultsCsv(rows: readonly ResultRow[]): string {
  return stringify(rows.map((r) => COLUMNS.map(([, f]) => r[f] ?? '')), { header: true, columns: COLUMNS.map(([c]) => c) });
}

export function parseResultsCsv(text: string, where = 'results.csv'): ResultRow[] {
  const records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return records.map((rec, i) => {
    const row: Record<string, unknown> = {};
    for (const [col, field] of COLUMNS) {
      const v = rec[col] ?? (ADDED_LATER.has(field) ? '' : undefined);
      if (v === undefined) throw new FormatError(`${where}: no column '${col}'`, `the columns are: ${COLUMNS.map(([c]) => c).join(', ')}`);
      if (OPTIONAL_NUMERIC.has(field) && v === '') row[field] = null;
      else if (NUMERIC.has(field) || OPTIONAL_NUMERIC.has(field)) {
        const n = Number(v);
        if (v === '' || !Number.isFinite(n)) throw new FormatError(`${where} row ${i + 2}: ${col} is '${v}', not a number`);
        row[field] = n;
      } else row[field] = v;
    }
    return row as unknown as ResultRow;
  });
}
