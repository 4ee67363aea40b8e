/**
 * The split of a grid into the tasks of a SLURM job array, written once by `dampl bench slurm`
 * beside its job scripts (`<results>/slurm/<name>/manifest.json`). Each array task runs the cells
 * its part lists (`dampl bench run --shard i/n@manifest.json`), so a resubmission runs the same
 * cells however many records have accrued since, and the parts are balanced on the cells'
 * estimated cost (the `--dry-run` estimate: the mean time of the same method on the same dataset
 * in earlier records).
 */
import { FormatError } from '@dampl/runtime';
import type { RunRecord } from '../records.js';

export const MANIFEST_FORMAT = 'dampl-slurm-manifest';
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** A cell of the split: the fields its run's record will hold, and its estimated cost. */
export interface ManifestCell extends Pick<RunRecord, 'key' | 'suite' | 'method' | 'dataset' | 'task' | 'seed' | 'configHash'> {
  /** Estimated seconds; null where no earlier record gave one. */
  estimate: number | null;
}

export interface ManifestShard {
  /** 1-based, the array task id. */
  index: number;
  /** Sum of the cells' estimates (unknown ones counted at the mean of the known). */
  estimateSeconds: number;
  cells: ManifestCell[];
}

export interface SlurmManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  name: string;
  created: string;
  /** The code commit the split was made on. */
  commit: string;
  /** The `dampl bench run` options each task runs with (besides --results, --shard, --jobs). */
  runArgs: string[];
  shards: ManifestShard[];
}

type Costed = Omit<ManifestCell, 'estimate'> & { estimate: number | null };

/**
 * Splits cells into `count` parts of nearly equal cost: the costliest first, each to the part
 * with the least so far (longest processing time first; within 4/3 of the best split). A cell
 * without an estimate costs the mean of the others (1 s when none has one). Each part keeps the
 * cells in the order given.
 */
export function splitCells(cells: readonly Costed[], count: number): ManifestShard[] {
  if (!Number.isInteger(count) || count < 1) throw new FormatError(`a split needs at least one part, got ${count}`);
  const known = cells.map((c) => c.estimate).filter((e): e is number => e !== null && Number.isFinite(e));
  const fallback = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const cost = (c: Costed) => (c.estimate !== null && Number.isFinite(c.estimate) ? c.estimate : fallback);
  const order = cells.map((c, i) => ({ c, i })).sort((a, b) => cost(b.c) - cost(a.c) || a.i - b.i);
  const load = new Array<number>(count).fill(0);
  const part = new Array<number>(cells.length);
  for (const { c, i } of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    part[i] = best;
    load[best]! += cost(c);
  }
  return load.map((seconds, s) => ({
    index: s + 1,
    estimateSeconds: seconds,
    cells: cells.filter((_, i) => part[i] === s).map((c) => ({ ...c, estimate: c.estimate !== null && Number.isFinite(c.estimate) ? c.estimate : null })),
  }));
}

export function parseManifest(text: string, file: string): SlurmManifest {
  let m: SlurmManifest;
  try {
    m = JSON.parse(text) as SlurmManifest;
  } catch (e) {
    throw new FormatError(`${file} is not JSON (${(e as Error).message})`, 'write it again with `dampl bench slurm`');
  }
  if (m?.format !== MANIFEST_FORMAT) throw new FormatError(`${file} is not a manifest of \`dampl bench slurm\` (format ${String(m?.format)})`);
  if (m.version !== MANIFEST_VERSION) throw new FormatError(`${file} has manifest version ${m.version}; this bench reads version ${MANIFEST_VERSION}`);
  if (!Array.isArray(m.shards) || !m.shards.length || m.shards.some((s, i) => s.index !== i + 1 || !Array.isArray(s.cells))) {
    throw new FormatError(`${file}: its shards are not numbered 1..n with their cells`);
  }
  return m;
}

/** How a grid differs from the cells a manifest lists. */
export function compareWithGrid(m: SlurmManifest, grid: readonly { key: string }[]): { gone: ManifestCell[]; added: string[] } {
  const listed = new Set(m.shards.flatMap((s) => s.cells.map((c) => c.key)));
  const now = new Set(grid.map((c) => c.key));
  return {
    gone: m.shards.flatMap((s) => s.cells).filter((c) => !now.has(c.key)),
    added: grid.map((c) => c.key).filter((k) => !listed.has(k)),
  };
}

export const cellLabel = (c: Pick<ManifestCell, 'method' | 'dataset' | 'task' | 'seed'>) => `${c.method} ${c.dataset} ${c.task} seed ${c.seed}`;
