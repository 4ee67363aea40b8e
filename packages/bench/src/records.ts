/**
 * One JSON record per finished cell, `<out>/runs/<cell key>.json`, written atomically: the cell,
 * its config, the run's provenance (backend, device, commit, date, Node), timings, the target
 * predictions with their labels, the metrics computed from them and the training history.
 * A cell whose record exists is finished; the tables are rebuilt from the records alone.
 */
import type { ViewsRecord } from './train-views.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { FormatError, atomicWriteFile, backendFamily, gitCommit, kernelLine, type BackendFamily, type BackendName, type Logger } from '@dampl/runtime';
import type { EpochRecord } from '@dampl/core';
import type { MetricName } from '@dampl/data';
import type { EpochScore } from './epochs.js';

export const RECORD_FORMAT = 'dampl-bench-run';
export const RECORD_VERSION = 1;
export const RUNS_DIR = 'runs';
/** Under RUNS_DIR: one file per cell taken by a worker of a `--jobs` run. */
export const CLAIMS_DIR = '.claims';

export interface Provenance {
  /** describeBackend's line: the backend, what it runs on, and why others were not used. */
  backend: string;
  backendName: string;
  /** The family the cell's key names (tensorflow, webgpu, wasm/cpu). */
  backendFamily: BackendFamily;
  /** What ran the products and frozen blocks: the native BLAS (name, threads, kernel family) or the backend's own kernels. */
  kernels: string;
  device: { cpu: string; cpus: number; memoryGiB: number; accelerator: string };
  /** `git rev-parse HEAD`, with `-dirty` when tracked files differ from it. */
  commit: string;
  /** ISO date the cell finished. */
  date: string;
  node: string;
  tfjs: string;
  os: string;
}

export interface DataDescription {
  /** Data root, workspace-relative when inside the workspace. */
  root: string;
  metric: MetricName;
  classes: string[];
  source: { domain: string; split: string; images: number };
  target: { domain: string; split: string; images: number };
  test: { domain: string; split: string; images: number };
}

export interface ClassResult {
  class: string;
  total: number;
  correct: number;
  /** Fraction; null when the class has no test image. */
  accuracy: number | null;
}

export interface RunRecord {
  format: typeof RECORD_FORMAT;
  version: number;
  key: string;
  suite: string;
  method: string;
  dataset: string;
  task: string;
  seed: number;
  config: unknown;
  configHash: string;
  model: { id: string; weightsHash: string; backbone: string | null };
  data: DataDescription;
  provenance: Provenance;
  /** Wall-clock seconds; cpuSeconds: this process's user + system time over the cell. */
  timings: { fitSeconds: number; predictSeconds: number; totalSeconds: number; cpuSeconds?: number };
  /** Target test predictions and labels, little-endian uint16 (int32 past 65535 classes) in base64. */
  predictions: { encoding: 'u16le-base64' | 'i32le-base64'; n: number; predicted: string; labels: string };
  /** Computed from `predictions` when the cell finished; the tables recompute it. */
  result: { metric: MetricName; value: number; accuracy: number; meanClassAccuracy: number; perClass: ClassResult[] };
  history: EpochRecord[];
  /** The target test set scored after each epoch (epochs.ts), where the method has epochs; the tables' best-epoch figures. */
  epochs?: EpochScore[];
  /** The cached augmented views the method trained on and what they cost (train-views.ts); absent for the clean view (views 0). */
  views?: ViewsRecord;
}

export function encodeLabels(values: ArrayLike<number>, numClasses: number): { encoding: RunRecord['predictions']['encoding']; data: string } {
  if (numClasses <= 0xffff) {
    const a = Uint16Array.from(values);
    return { encoding: 'u16le-base64', data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
  }
  const a = Int32Array.from(values);
  return { encoding: 'i32le-base64', data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
}

function decodeLabels(data: string, encoding: RunRecord['predictions']['encoding'], n: number): Int32Array {
  const b = Buffer.from(data, 'base64');
  const bytes = encoding === 'u16le-base64' ? 2 : 4;
  if (b.length !== n * bytes) throw new FormatError(`predictions: ${b.length} bytes for ${n} values`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes === 2 ? b.readUInt16LE(2 * i) : b.readInt32LE(4 * i);
  return out;
}

/** Predicted and true test labels of a record. */
export function recordPredictions(r: RunRecord): { predicted: Int32Array; labels: Int32Array } {
  const p = r.predictions;
  return { predicted: decodeLabels(p.predicted, p.encoding, p.n), labels: decodeLabels(p.labels, p.encoding, p.n) };
}

/** What every record of a run shares; `date` is filled per cell. */
export function provenance(backend: { line: string; name: BackendName; device: string }): Omit<Provenance, 'date'> {
  const cpus = os.cpus();
  return {
    backend: backend.line,
    backendName: backend.name,
    backendFamily: backendFamily(backend.name),
    kernels: kernelLine(backend.name),
    device: {
      cpu: cpus[0]?.model.trim() ?? 'unknown', cpus: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      accelerator: backend.device,
    },
    commit: gitCommit(),
    node: process.version,
    tfjs: tf.version_core,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export function recordPath(outDir: string, key: string): string {
  return path.join(outDir, RUNS_DIR, `${key}.json`);
}

export async function writeRecord(outDir: string, r: RunRecord): Promise<string> {
  const file = recordPath(outDir, r.key);
  await mkdir(path.dirname(file), { recursive: true });
  await atomicWriteFile(file, JSON.stringify(r, null, 1) + '\n');
  return file;
}

function isRecord(x: unknown): x is RunRecord {
  const r = x as RunRecord;
  return !!r && r.format === RECORD_FORMAT && typeof r.key === 'string' && typeof r.method === 'string'
    && typeof r.dataset === 'string' && typeof r.task === 'string' && Number.isInteger(r.seed) && !!r.predictions;
}

/**
 * Every record under `<outDir>/runs/`, by key. Files that are not records (half-written temporary
 * files, other JSON) are left out, with a warning for the unreadable ones.
 */
export async function readRecords(outDir: string, log?: Logger): Promise<Map<string, RunRecord>> {
  const dir = path.join(outDir, RUNS_DIR);
  const out = new Map<string, RunRecord>();
  if (!existsSync(dir)) return out;
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const file = path.join(dir, f);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      log?.warn(`ignoring ${file}: ${(e as Error).message}`);
      continue;
    }
    if (!isRecord(parsed)) {
      log?.warn(`ignoring ${file}: not a ${RECORD_FORMAT} record`);
      continue;
    }
    if (parsed.version > RECORD_VERSION) throw new FormatError(`${file} is a version ${parsed.version} record; this bench reads version ${RECORD_VERSION}`, 'update the checkout');
    out.set(parsed.key, parsed);
  }
  return out;
}
