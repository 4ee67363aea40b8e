/**
 * summary.md: one table per dataset (rows: methods; columns: tasks and their average; each cell
 * the mean ± std over seeds), the published figures for the same backbone beside it with our
 * difference, published rows of other backbones apart, skipped datasets, and the provenance.
 *
 *   mean  = (1/n) sum_s v_s                      over the seeds s with a result
 *   std   = sqrt( sum_s (v_s - mean)^2 / (n-1) )  sample standard deviation; none when n = 1
 *   avg   : per seed, the mean over the table's tasks (seeds missing a task are left out),
 *           then mean and std of those per-seed averages
 *   diff  = our mean - the published figure (percentage points)
 *
 * Each figure is the last epoch's (the record's predictions) unless the summary reports `best`:
 * then a best-epoch column (the best epoch on the target test set, an oracle: epochs.ts) is set
 * beside it, and a published row whose source selected its best epoch is compared with ours at
 * the best epoch. Each difference lists where our run's protocol differs from the source's
 * (protocol.ts).
 */
import { listMethods } from '@dampl/core';
import { getDataset, listDatasets } from '@dampl/data';
import '@dampl/synth'; // the synthetic world's title and task order
import { anchorsFor, ANCHOR_DATASET_KEYS, publishedNamesFor, type AnchorRow, type AnchorTable } from './anchors.js';
import { comparedSelection, protocolDifferences, runProtocol, type Report, type RunProtocol } from './protocol.js';
import type { RunRecord } from './records.js';
import type { ResultRow } from './results.js';
import { baseMethodName } from './grid.js';

export interface Stat {
  mean: number;
  /** Sample standard deviation; null with one value. */
  std: number | null;
  n: number;
}

export interface MethodLine {
  method: string;
  /** The last epoch's figures. */
  tasks: Record<string, Stat>;
  /** Over the seeds that have every task of the table; null when none has. */
  average: Stat | null;
  /** The best epoch's figures (oracle), over the runs that scored every epoch. */
  best: Record<string, Stat>;
  bestAverage: Stat | null;
  seeds: number[];
  /** What the runs ran under (selection: last). */
  protocol: RunProtocol;
}

export interface PublishedLine {
  row: AnchorRow;
  tasks: Record<string, number>;
  average: number | null;
}

export interface DifferenceLine {
  method: string;
  published: AnchorRow;
  /** Which of our figures is compared: the last epoch's, or the best epoch's where the source reports its best. */
  selection: Report;
  /** Where our run's protocol differs from the source's, in words. */
  protocol: string[];
  tasks: Record<string, number>;
  average: number | null;
}

export interface DatasetTable {
  /** Unique within a summary: the dataset, with the model when a dataset ran with several. */
  id: string;
  dataset: string;
  title: string;
  metric: string;
  model: string;
  backbone: string;
  tasks: string[];
  methods: MethodLine[];
  /** Published rows with the run's backbone. */
  published: PublishedLine[];
  differences: DifferenceLine[];
  /** Published rows with another or an unspecified backbone. */
  other: PublishedLine[];
  /** Whether anchors.json knows the dataset at all. */
  hasPublished: boolean;
}

export interface Summary {
  suite: string;
  /** 'best' sets the best-epoch (oracle) figures beside the last epoch's. */
  report: Report;
  tables: DatasetTable[];
}

export interface SummarizeOptions {
  report?: Report;
  /** The rows' records, for the configs the protocol is read from. */
  records?: readonly RunRecord[];
}

export function stat(values: readonly number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Registered methods in registration order, then the others by name; its variants (`m@config`, `m[k=v]`) right after `m`. */
export function orderMethods(names: Iterable<string>): string[] {
  const registered = listMethods().map((m) => m.name);
  const rank = (n: string) => {
    const i = registered.indexOf(baseMethodName(n));
    return i < 0 ? registered.length : i;
  };
  const variant = (n: string) => (n === baseMethodName(n) ? 0 : 1);
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || cmp(baseMethodName(a), baseMethodName(b))
    || variant(a) - variant(b) || cmp(a, b));
}

function orderTasks(dataset: string, names: Iterable<string>): string[] {
  const known = listDatasets().some((d) => d.name === dataset) ? getDataset(dataset).tasks.map((t) => t.name) : [];
  const rank = (t: string) => (known.includes(t) ? known.indexOf(t) : known.length);
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || cmp(a, b));
}

function datasetTitle(dataset: string): string {
  return listDatasets().find((d) => d.name === dataset)?.title ?? dataset;
}

/** Per task the stat over seeds of `value(row)`, and the stat of the per-seed task means (seeds with every task). */
function lineStats(tasks: string[], rows: ResultRow[], seeds: number[], value: (r: ResultRow) => number | null): { tasks: Record<string, Stat>; average: Stat | null } {
  const byTask: Record<string, Stat> = {};
  for (const t of tasks) {
    const v = rows.filter((r) => r.task === t).sort((a, b) => a.seed - b.seed).map(value).filter((x): x is number => x !== null);
    if (v.length) byTask[t] = stat(v);
  }
  const perSeed: number[] = [];
  for (const s of seeds) {
    const vals = tasks.map((t) => {
      const r = rows.find((x) => x.seed === s && x.task === t);
      return r ? value(r) : null;
    });
    if (vals.every((v): v is number => v !== null)) perSeed.push(vals.reduce((a, b) => a + b, 0) / vals.length);
  }
  return { tasks: byTask, average: perSeed.length ? stat(perSeed) : null };
}

function methodLine(method: string, tasks: string[], rows: ResultRow[], configs: readonly unknown[], backbone: string): MethodLine {
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const last = lineStats(tasks, rows, seeds, (r) => r.value);
  const best = lineStats(tasks, rows, seeds, (r) => r.bestValue);
  return {
    method, tasks: last.tasks, average: last.average, best: best.tasks, bestAverage: best.average, seeds,
    protocol: runProtocol(method, configs, seeds, backbone, 'last', rows.every((r) => r.epochs === null) ? undefined : rows.some((r) => (r.epochs ?? 0) > 0)),
  };
}

function publishedLine(row: AnchorRow, dataset: string, tasks: string[]): PublishedLine {
  const key = ANCHOR_DATASET_KEYS[dataset]!;
  const out: Record<string, number> = {};
  const perTask = row.tasks[key] ?? {};
  for (const t of tasks) if (perTask[t] !== undefined) out[t] = perTask[t]!;
  const average = row.figures[key] ?? null;
  // a single-task dataset (VisDA-2017) publishes its one task as the dataset figure
  const all = getDataset(dataset).tasks;
  if (all.length === 1 && average !== null && tasks.includes(all[0]!.name) && out[all[0]!.name] === undefined) out[all[0]!.name] = average;
  return { row, tasks: out, average };
}

/** Builds the tables of a summary from result rows and the published figures. */
export function summarize(suite: string, rows: readonly ResultRow[], anchors?: AnchorTable, o: SummarizeOptions = {}): Summary {
  const report = o.report ?? 'last';
  const configOf = new Map((o.records ?? []).map((r) => [r.key, r.config]));
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.dataset, r.model]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const datasets = [...new Set(rows.map((r) => r.dataset))].sort(cmp);
  const tables: DatasetTable[] = [];
  for (const dataset of datasets) {
    const models = [...new Set(rows.filter((r) => r.dataset === dataset).map((r) => r.model))].sort(cmp);
    for (const model of models) {
      const g = groups.get(JSON.stringify([dataset, model]))!;
      const tasks = orderTasks(dataset, g.map((r) => r.task));
      const backbone = g.find((r) => r.backbone)?.backbone ?? '';
      const methods = orderMethods(g.map((r) => r.method)).map((m) => {
        const mine = g.filter((r) => r.method === m);
        return methodLine(m, tasks, mine, mine.filter((r) => configOf.has(r.key)).map((r) => configOf.get(r.key)), backbone);
      });
      const hasPublished = !!anchors && ANCHOR_DATASET_KEYS[dataset] !== undefined;
      const found = anchors && hasPublished ? anchorsFor(anchors, dataset, backbone || undefined) : { matched: [], other: [] };
      const published = found.matched.map((a) => publishedLine(a, dataset, tasks));
      const differences: DifferenceLine[] = [];
      for (const m of methods) {
        for (const p of published) {
          if (!publishedNamesFor(m.method).includes(p.row.method)) continue;
          const selection = comparedSelection(report, p.row);
          const ours = selection === 'best' ? { tasks: m.best, average: m.bestAverage } : { tasks: m.tasks, average: m.average };
          const d: Record<string, number> = {};
          for (const t of tasks) if (ours.tasks[t] && p.tasks[t] !== undefined) d[t] = ours.tasks[t]!.mean - p.tasks[t]!;
          const average = ours.average && p.average !== null && tasks.length === getDataset(dataset).tasks.length ? ours.average.mean - p.average : null;
          differences.push({
            method: m.method, published: p.row, selection, protocol: protocolDifferences({ ...m.protocol, selection }, p.row), tasks: d, average,
          });
        }
      }
      tables.push({
        id: models.length > 1 ? `${dataset}--${slug(model)}` : dataset,
        dataset, title: datasetTitle(dataset), metric: g[0]!.metric, model, backbone, tasks, methods,
        published, differences, other: found.other.map((a) => publishedLine(a, dataset, tasks)), hasPublished,
      });
    }
  }
  return { suite, report, tables };
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
}
