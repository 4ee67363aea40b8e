/**
 * The grid runner behind `dampl bench run` and `nx run bench:all`.
 *
 * For a suite: find its datasets (generating the synthetic world, skipping absent real ones with
 * the command that gets them), build the grid (every method x task x seed, filtered, this shard's
 * part), encode each needed (domain, split) once through the frozen image encoder into the
 * feature cache, then for every cell without a record: fit the method on the features, predict
 * the target test set, score the predictions and write the cell's record atomically. A crash or
 * Ctrl-C loses the running cell only; the next run skips every cell whose record exists. The
 * tables (results.csv, summary.md, one SVG per dataset) are rebuilt from all records at the end.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError, DamplError, backendFamily, describeBackend, type BackendFamily, type BackendReport, type Logger,
} from '@dampl/runtime';
import { fitMethod, getMethod, type FeatureMatrix } from '@dampl/core';
import { evaluate, getDataset } from '@dampl/data';
import type { ClipModel, FeatureSet } from '@dampl/clip';
import { cellViews, onlineViews, viewsOf } from './train-views.js';
import { backboneName } from './anchors.js';
import { baseMethodName, buildGrid, methodSpecs, type Cell } from './grid.js';
import { expandSpecs, type MethodVariants } from './variants.js';
import { inShard, type Shard } from './shard.js';
import {
  CLAIMS_DIR, RECORD_FORMAT, RECORD_VERSION, RUNS_DIR, encodeLabels, provenance, readRecords, writeRecord, type Provenance, type RunRecord,
} from './records.js';
import { writeTables } from './tables.js';
import { correctPerClass } from './epochs.js';
import { estimateOf, formatSeconds, printDryRun, type DryRunReport } from './estimates.js';
import { openModel, prepareDataset, type PreparedDataset } from './prepare.js';
import type { Report } from './protocol.js';
import {
  displayPath, missingDataset, type SkippedDataset, type Suite, type SuiteDataset,
} from './suites.js';

export interface RunOptions {
  suite: Suite;
  /** The tables' report: 'best' adds the best-epoch (oracle) figures (default: the folder's earlier choice, else 'last'). */
  report?: Report;
  /** Results root; this suite's files go to `<resultsDir>/<suite>/`. */
  resultsDir: string;
  /** Feature cache root. */
  cacheDir: string;
  methods?: string[];
  datasets?: string[];
  tasks?: string[];
  seeds?: number[];
  /** Config values over each method's config, by registered method name (they change its config hash). */
  overrides?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The command line's --config, --set and --sweep (variants.ts): labelled variants of the methods. */
  variants?: MethodVariants;
  model?: string;
  /** Dataset name -> data root, over the suite's. */
  roots?: Record<string, string>;
  shard?: Shard;
  dryRun?: boolean;
  /** Run every cell again, even those with a record. */
  rerun?: boolean;
  /** Stop at the first failing cell instead of going on with the others. */
  failFast?: boolean;
  /** The backend in use (a dry run may give only its family). */
  backend?: BackendReport;
  /** The backend family cells are keyed by when no backend is given (dry runs). */
  family?: BackendFamily;
  /** Images per encoder call. */
  batchSize?: number;
  /**
   * Worker mode (`--jobs`): several processes share one grid; a cell is run by the process that
   * first creates its claim file in this folder. Tables are left to the parent.
   */
  claimDir?: string;
  /** Only generate data and fill the feature cache for the pending cells (before starting workers). */
  prepareOnly?: boolean;
  /** Warn about skipped datasets (default true; off when an earlier call of the same run did). */
  warnSkipped?: boolean;
  log: Logger;
  /** Lines for stdout (grid listings, the final report). */
  print?: (line: string) => void;
  signal?: AbortSignal;
}

export interface CellOutcome {
  cell: Cell;
  value?: number;
  seconds?: number;
  error?: string;
}

export interface SuiteReport extends DryRunReport {
  outcomes: CellOutcome[];
  files: string[];
  /** Dry run: estimated seconds for the pending cells, and how many had no earlier timing. */
  estimate?: { seconds: number; unknown: number };
}

/** One cell failed or more; the others ran and the tables were written. */
export class CellsFailed extends DamplError {}

export { estimateOf, formatSeconds } from './estimates.js';


/**
 * How a model names itself in cell keys and tables: a hub id as given; a local model (a directory
 * or a .safetensors file) by its name and the first 16 hex digits of its weights' sha256
 * (`synth-clip@237ffbc4...`), so that a key holds wherever the files are and changes with the weights.
 */
async function modelKey(model: string): Promise<string> {
  const isPath = existsSync(model) || path.isAbsolute(model) || model.startsWith('.');
  if (!isPath) return model;
  if (!existsSync(model)) throw new DamplError(`no model at ${model}`, 'give a Hugging Face CLIP directory, an OpenAI-layout .safetensors file, or a hub id');
  const { weightsHashOf } = await import('@dampl/clip');
  return `${path.basename(model).replace(/\.safetensors$/, '')}@${(await weightsHashOf(model)).slice(0, 16)}`;
}

/** Domain words for prompts: "Real_World" -> "real world". */
function domainWords(domain: string): string {
  return domain.replace(/_/g, ' ').toLowerCase();
}

function resolveDatasets(o: RunOptions): SuiteDataset[] {
  let list = o.suite.datasets.map((d) => ({ ...d, root: path.resolve(o.roots?.[d.dataset] ?? d.root) }));
  if (o.datasets?.length) {
    const wanted = o.datasets.map((n) => getDataset(n).name);
    for (const w of wanted) {
      if (!list.some((d) => d.dataset === w)) {
        throw new ConfigError(`dataset ${w} is not in suite ${o.suite.name}`, `suite ${o.suite.name} has: ${list.map((d) => d.dataset).join(', ')}; choose another with --suite`);
      }
    }
    list = list.filter((d) => wanted.includes(d.dataset));
  }
  for (const k of Object.keys(o.roots ?? {})) {
    if (!o.suite.datasets.some((d) => d.dataset === k)) throw new ConfigError(`--root names ${k}, which is not in suite ${o.suite.name}`);
  }
  return list;
}

/** Runs (or, with dryRun, lists) one suite. */
export async function runSuite(o: RunOptions): Promise<SuiteReport> {
  const { log } = o;
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const outDir = path.join(o.resultsDir, o.suite.name);
  const model = o.model ?? o.suite.model;
  const mKey = await modelKey(model);
  const datasets = resolveDatasets(o);
  const skipped: SkippedDataset[] = [];
  const present: SuiteDataset[] = [];
  for (const d of datasets) {
    const miss = missingDataset(d);
    if (miss) skipped.push(miss);
    else present.push(d);
  }
  if (!o.claimDir && o.warnSkipped !== false) for (const s of skipped) log.warn(`${o.suite.name}: skipping ${s.dataset}: ${s.reason}; get it with: ${s.command}`);

  const methods = o.variants ? expandSpecs(methodSpecs(o.methods), o.variants) : methodSpecs(o.methods);
  const seeds = o.seeds?.length ? [...new Set(o.seeds)] : o.suite.seeds;
  const family = o.backend ? backendFamily(o.backend.name) : o.family;
  if (!family) throw new DamplError('runSuite needs the active backend (selectBackend), or for a dry run its family');
  const grid = await buildGrid({ suite: o.suite.name, model: mKey, backend: family, datasets: present.map((d) => d.dataset), methods, tasks: o.tasks, seeds, overrides: o.overrides, suiteValues: o.suite.methodValues?.(family) });
  const mine = grid.filter((c) => inShard(c, o.shard));
  // claims left by workers of a killed `--jobs` run
  if (!o.claimDir && !o.prepareOnly && !o.dryRun) await rm(path.join(outDir, RUNS_DIR, CLAIMS_DIR), { recursive: true, force: true });
  const records = await readRecords(outDir, log);
  const finished = o.rerun ? [] : mine.filter((c) => records.has(c.key));
  let pending = mine.filter((c) => o.rerun || !records.has(c.key));
  const report: SuiteReport = { suite: o.suite.name, outDir, model: mKey, grid, mine, finished, pending, outcomes: [], skipped, files: [] };

  if (o.dryRun) {
    report.estimate = printDryRun(report, records, print);
    return report;
  }
  if (!o.backend) throw new DamplError('runSuite needs the active backend (selectBackend) unless it is a dry run');

  (o.claimDir || o.warnSkipped === false ? log.debug : log.info)(`${o.suite.name}: ${grid.length} cells${o.shard ? `, ${mine.length} in shard ${o.shard.index}/${o.shard.count}` : ''}, `
    + `${finished.length} finished earlier, ${pending.length} to run; results in ${displayPath(outDir)}`);

  let clip: ClipModel | undefined;
  try {
    // the model is loaded to run cells, and to check that earlier records used the same weights
    if (pending.length || finished.length) {
      clip = await openModel(model, log);
      const stale = finished.filter((c) => records.get(c.key)!.model.weightsHash !== clip!.weightsHash);
      if (stale.length) {
        log.warn(`${stale.length} record(s) were made with other weights of ${mKey}; running them again`);
        pending = mine.filter((c) => pending.includes(c) || stale.includes(c));
        report.pending = pending;
        report.finished = finished.filter((c) => !stale.includes(c));
      }
      if (pending.length) await runCells(o, report, present, clip, pending, records);
    }
  } finally {
    clip?.dispose();
    const tables = !o.claimDir && !o.prepareOnly;
    if (tables && (records.size || report.outcomes.some((x) => !x.error))) {
      report.files = await writeTables(outDir, { suite: o.suite.name, skipped: report.skipped, reference: o.suite.reference, report: o.report, log });
    }
  }
  const failed = report.outcomes.filter((x) => x.error);
  if (failed.length) {
    throw new CellsFailed(`${failed.length} of ${pending.length} cell(s) failed: ${failed.map((f) => `${f.cell.method} ${f.cell.dataset} ${f.cell.task} seed ${f.cell.seed}`).join('; ')}`,
      'the others are recorded; fix the cause and run the same command again to run only what is missing');
  }
  return report;
}

const matrix = (s: FeatureSet): FeatureMatrix => ({ data: s.features, rows: s.rows, dim: s.embedDim });

async function runCells(o: RunOptions, report: SuiteReport, present: SuiteDataset[], clip: ClipModel, pending: Cell[], records: Map<string, RunRecord>): Promise<void> {
  const { log } = o;
  const model = o.model ?? o.suite.model;
  const backend = o.backend!;
  const base = provenance({ line: describeBackend(backend), name: backend.name, device: backend.device });
  if (base.commit.endsWith('-dirty') && !o.claimDir) log.warn(`the checkout has uncommitted changes: records name commit ${base.commit}`);
  const backbone = backboneName(model, clip.config) ?? null;
  const prepared = new Map<string, PreparedDataset>();
  // earlier timings of (method, dataset), for the ETA
  const timings = new Map<string, number[]>();
  const remember = (method: string, dataset: string, s: number) => {
    const k = `${method}\u0000${dataset}`;
    timings.set(k, [...(timings.get(k) ?? []), s]);
  };
  for (const r of records.values()) remember(r.method, r.dataset, r.timings.totalSeconds);
  const started = Date.now();
  const todo = [...pending];
  for (let i = 0; i < todo.length; i++) {
    const cell = todo[i]!;
    if (o.signal?.aborted) {
      log.warn(`stopped before ${todo.length - i} cell(s); run the same command again to finish them`);
      break;
    }
    const d = present.find((x) => x.dataset === cell.dataset)!;
    let ds = prepared.get(d.dataset);
    if (!ds) {
      const p = await prepareDataset(o, d, clip, model);
      if ('reason' in p) {
        log.warn(`${o.suite.name}: skipping ${p.dataset}: ${p.reason}; ${p.command}`);
        report.skipped.push(p);
        const rest = todo.splice(i).filter((c) => c.dataset !== d.dataset);
        report.pending = report.pending.filter((c) => c.dataset !== d.dataset);
        todo.push(...rest);
        i--;
        continue;
      }
      ds = p;
      prepared.set(d.dataset, ds);
    }
    if (o.prepareOnly) {
      const task = ds.index.task(cell.task);
      const sp = ds.index.splits;
      await ds.features(task.source, sp.trainSource);
      await ds.features(task.target, sp.trainTarget);
      await ds.features(task.target, sp.testTarget);
      continue;
    }
    if (o.claimDir && !(await claim(o.claimDir, cell.key))) continue;
    const label = `${o.claimDir ? '' : `[${i + 1}/${todo.length}] `}${cell.method} ${cell.dataset} ${cell.task} seed ${cell.seed}`;
    try {
      const t0 = Date.now();
      const rec = await runCell(o, cell, ds, clip, { ...base }, backbone);
      const seconds = (Date.now() - t0) / 1000;
      await writeRecord(report.outDir, rec);
      remember(cell.method, cell.dataset, rec.timings.totalSeconds);
      report.outcomes.push({ cell, value: rec.result.value, seconds });
      const left = todo.slice(i + 1);
      const eta = left.reduce((a, c) => a + estimateOf(timings, c), 0);
      const spent = (Date.now() - started) / 1000;
      log.info(`${label}: ${(100 * rec.result.value).toFixed(1)}% in ${formatSeconds(seconds)}`
        + `${left.length && !o.claimDir ? `; ${left.length} left, about ${formatSeconds(eta)} (${formatSeconds(spent)} so far)` : ''}`);
    } catch (e) {
      if (o.signal?.aborted) {
        log.warn(`${label}: interrupted; run the same command again to finish it`);
        break;
      }
      const msg = (e as Error).message.split('\n')[0]!;
      report.outcomes.push({ cell, error: msg });
      log.error(`${label}: ${msg}`);
      if (o.failFast) throw e;
    }
  }
}

/** Creates `<dir>/<key>` exclusively; false when another process has it. */
async function claim(dir: string, key: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(path.join(dir, key), `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}


async function runCell(o: RunOptions, cell: Cell, ds: PreparedDataset, clip: ClipModel, base: Omit<Provenance, 'date'>, backbone: string | null): Promise<RunRecord> {
  const { index } = ds;
  const task = index.task(cell.task);
  const sp = index.splits;
  const [src, tgt, test] = [
    await ds.features(task.source, sp.trainSource),
    await ds.features(task.target, sp.trainTarget),
    await ds.features(task.target, sp.testTarget),
  ];
  const method = getMethod(baseMethodName(cell.method));
  const mode = viewsOf(cell.config, cell.method);
  const views = mode.kind === 'cached'
    ? await cellViews(mode.k, (side) => side === 'source' ? ds.views(task.source, sp.trainSource, mode.k) : ds.views(task.target, sp.trainTarget, mode.k))
    : undefined;
  const online = mode.kind === 'online'
    ? onlineViews((side, epoch) => (side === 'source' ? ds.onlineView(task.source, sp.trainSource, epoch, cell.seed) : ds.onlineView(task.target, sp.trainTarget, epoch, cell.seed)))
    : undefined;
  const mlog = o.log.child(cell.method);
  if (o.log.level !== 'debug') mlog.level = 'warn';
  const before = tf.memory().numTensors;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const K = index.classes.length;
  const scored: number[][] = [];
  const result = await fitMethod(method, {
    source: matrix(src), sourceLabels: src.labels, target: matrix(tgt), targetLabelsForAnalysis: tgt.labels,
    evalTarget: { features: matrix(test), labels: test.labels, onScored: (p) => scored.push(correctPerClass(p, test.labels, K)) },
    classNames: index.classNames, domainNames: [domainWords(task.source), domainWords(task.target)],
    clip, config: cell.config, seed: cell.seed, logger: mlog, signal: o.signal,
    ...(views ? { trainViews: views.trainViews } : {}),
    ...(online ? { onlineViews: online.onlineViews } : {}),
  });
  const t1 = performance.now();
  let predicted: Int32Array;
  let history;
  try {
    predicted = (await result.predict(matrix(test))).labels;
    history = result.history;
  } finally {
    result.dispose();
  }
  const t2 = performance.now();
  const leaked = tf.memory().numTensors - before;
  if (leaked > 0) o.log.debug(`${cell.method}: ${leaked} tensor(s) left after the cell`);
  const ev = evaluate(predicted, test.labels, K, index.metric, index.classNames);
  const p = encodeLabels(predicted, K);
  const l = encodeLabels(test.labels, K);
  return {
    format: RECORD_FORMAT, version: RECORD_VERSION, key: cell.key, suite: cell.suite, method: cell.method,
    dataset: cell.dataset, task: cell.task, seed: cell.seed, config: cell.config, configHash: cell.configHash,
    model: { id: cell.model, weightsHash: clip.weightsHash, backbone },
    data: {
      root: displayPath(index.root), metric: index.metric, classes: [...index.classes],
      source: { domain: task.source, split: sp.trainSource, images: src.rows },
      target: { domain: task.target, split: sp.trainTarget, images: tgt.rows },
      test: { domain: task.target, split: sp.testTarget, images: test.rows },
    },
    provenance: { ...base, date: new Date().toISOString() },
    timings: {
      fitSeconds: (t1 - t0) / 1000, predictSeconds: (t2 - t1) / 1000, totalSeconds: (performance.now() - t0) / 1000,
      cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)),
    },
    predictions: { encoding: p.encoding, n: predicted.length, predicted: p.data, labels: l.data },
    ...(views ? { views: views.record } : online ? { views: online.record() } : {}),
    result: {
      metric: ev.metric, value: ev.value, accuracy: ev.accuracy, meanClassAccuracy: ev.meanClassAccuracy,
      perClass: ev.perClass.map((c) => ({ class: index.classes[c.label]!, total: c.total, correct: c.correct, accuracy: Number.isNaN(c.accuracy) ? null : c.accuracy })),
    },
    history,
    ...(scored.length === history.length && scored.length ? { epochs: history.map((h, i) => ({ epoch: h.epoch, correct: scored[i]! })) } : {}),
  };
}
