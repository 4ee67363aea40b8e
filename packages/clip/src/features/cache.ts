/**
 * The on-disk feature cache. One directory per identity (weights, preprocessing, dataset, domain,
 * split, view, image list), named by the identity's hash:
 *
 *   <root>/<dataset>/<domain>/<split>-view<k>-<hash16>/
 *     manifest.json            identity, progress, skipped images
 *     chunk-00000.safetensors  rows of a finished chunk while extraction is under way
 *     features.safetensors     `features` F32 [N, E], `labels` I32 [N], `index` I32 [N] once complete
 *
 * `index` gives each row's position in the image list (rows of skipped images are absent).
 * Every file is written atomically (temporary name, then rename), chunks before the manifest that
 * records them, so an interrupted run leaves a cache that the next run resumes from its last
 * finished chunk. A manifest whose identity differs from the one asked for is never used.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, atomicWriteFile, readSafetensors, toFloat32, toInt32, writeSafetensors, type SafeTensor } from '@dampl/runtime';

export const MANIFEST = 'manifest.json';
export const FEATURES_FILE = 'features.safetensors';
const FORMAT = 'dampl-feature-cache';
const VERSION = 1;

/** What a set of features is of. */
export interface FeatureKey {
  dataset: string;
  domain: string;
  split: string;
  /** 0: CLIP's centre crop; k >= 1: augmented view k. */
  view: number;
}

/** Everything that decides the features; two extractions with equal identities give equal rows. */
export interface CacheIdentity extends FeatureKey {
  weightsHash: string;
  preprocess: Record<string, unknown>;
  images: { count: number; sha256: string };
}

export interface SkippedImage {
  /** Position in the image list. */
  index: number;
  path: string;
  error: string;
}

export interface ChunkRecord {
  file: string;
  /** Image-list range [start, end). */
  start: number;
  end: number;
  rows: number;
  skipped: SkippedImage[];
}

export interface FeatureManifest {
  format: typeof FORMAT;
  version: number;
  hash: string;
  identity: CacheIdentity;
  /** Where the model was loaded from (informative; not part of the identity). */
  source: string;
  total: number;
  chunkSize: number;
  embedDim: number | null;
  /** Finished chunks, contiguous from image 0. Emptied once the cache is complete. */
  chunks: ChunkRecord[];
  complete: boolean;
  rows: number;
  skipped: SkippedImage[];
  createdAt: string;
  updatedAt: string;
}

export interface FeatureRows {
  /** Row-major [rows, embedDim]. */
  features: Float32Array;
  labels: Int32Array;
  /** Image-list position of each row. */
  index: Int32Array;
  embedDim: number;
}

/** JSON with object keys sorted, so that equal values serialise equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function identityHash(id: CacheIdentity): string {
  return createHash('sha256').update(canonicalJson({ format: FORMAT, version: VERSION, ...id })).digest('hex');
}

/** sha256 of the image list: one `key<TAB>label` line per image, in order. */
export function imageListHash(entries: readonly { key: string; label: number }[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.key}\t${e.label}\n`);
  return h.digest('hex');
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_') || '_';

export function cacheDirFor(root: string, id: CacheIdentity): string {
  return path.join(root, slug(id.dataset), slug(id.domain), `${slug(id.split)}-view${id.view}-${identityHash(id).slice(0, 16)}`);
}

export const chunkFile = (i: number) => `chunk-${String(i).padStart(5, '0')}.safetensors`;

/** A cache directory for one identity. */
export class FeatureCache {
  readonly hash: string;

  constructor(readonly dir: string, readonly identity: CacheIdentity) {
    this.hash = identityHash(identity);
  }

  static forIdentity(root: string, identity: CacheIdentity): FeatureCache {
    return new FeatureCache(cacheDirFor(root, identity), identity);
  }

  /**
   * The manifest if it belongs to this identity; `undefined` if there is none; `{stale}` with the
   * reason if there is one that must not be used (another identity, unreadable, other format).
   */
  async readManifest(): Promise<FeatureManifest | undefined | { stale: string }> {
    const file = path.join(this.dir, MANIFEST);
    if (!existsSync(file)) return undefined;
    let m: FeatureManifest;
    try {
      m = JSON.parse(await readFile(file, 'utf8')) as FeatureManifest;
    } catch (e) {
      return { stale: `unreadable manifest (${(e as Error).message})` };
    }
    if (m.format !== FORMAT || m.version !== VERSION) return { stale: `manifest format ${m.format} v${m.version}` };
    if (m.hash !== this.hash || canonicalJson(m.identity) !== canonicalJson(this.identity)) {
      const diff = Object.keys({ ...this.identity, ...m.identity })
        .filter((k) => canonicalJson((m.identity as unknown as Record<string, unknown>)?.[k]) !== canonicalJson((this.identity as unknown as Record<string, unknown>)[k]));
      return { stale: `made for another identity (differs in ${diff.join(', ') || 'hash'})` };
    }
    return m;
  }

  newManifest(total: number, chunkSize: number, source: string): FeatureManifest {
    const now = new Date().toISOString();
    return {
      format: FORMAT, version: VERSION, hash: this.hash, identity: this.identity, source,
      total, chunkSize, embedDim: null, chunks: [], complete: false, rows: 0, skipped: [], createdAt: now, updatedAt: now,
    };
  }

  async writeManifest(m: FeatureManifest): Promise<void> {
    m.updatedAt = new Date().toISOString();
    await mkdir(this.dir, { recursive: true });
    await atomicWriteFile(path.join(this.dir, MANIFEST), JSON.stringify(m, null, 1) + '\n');
  }

  /** Removes everything in the directory (a stale cache). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  async writeRows(file: string, rows: FeatureRows, metadata: Record<string, string> = {}): Promise<void> {
    const n = rows.labels.length;
    const tensors: Record<string, SafeTensor> = {
      features: { dtype: 'F32', shape: [n, rows.embedDim], data: rows.features },
      labels: { dtype: 'I32', shape: [n], data: rows.labels },
      index: { dtype: 'I32', shape: [n], data: rows.index },
    };
    await mkdir(this.dir, { recursive: true });
    await writeSafetensors(path.join(this.dir, file), tensors, { hash: this.hash, ...metadata });
  }

  async readRows(file: string, expectedRows?: number): Promise<FeatureRows> {
    const where = path.join(this.dir, file);
    const { tensors, metadata } = await readSafetensors(where);
    const f = tensors.get('features');
    const l = tensors.get('labels');
    const ix = tensors.get('index');
    if (!f || !l || !ix || f.shape.length !== 2) throw new FormatError(`${where}: expected tensors features [N, E], labels [N], index [N]`);
    if (metadata.hash !== this.hash) throw new FormatError(`${where}: belongs to cache ${metadata.hash ?? '(none)'}, not ${this.hash}`);
    const [n, e] = f.shape as [number, number];
    if (l.shape[0] !== n || ix.shape[0] !== n || (expectedRows !== undefined && n !== expectedRows)) {
      throw new FormatError(`${where}: ${n} feature rows, ${l.shape[0]} labels, ${ix.shape[0]} indices${expectedRows !== undefined ? `, manifest says ${expectedRows}` : ''}`);
    }
    return { features: toFloat32(f), labels: toInt32(l, where), index: toInt32(ix, where), embedDim: e };
  }

  /** Chunk files present in the directory. */
  async chunkFiles(): Promise<string[]> {
    if (!existsSync(this.dir)) return [];
    return (await readdir(this.dir)).filter((f) => /^chunk-\d+\.safetensors$/.test(f));
  }

  async removeChunks(): Promise<void> {
    for (const f of await this.chunkFiles()) await rm(path.join(this.dir, f), { force: true });
  }
}

/** Concatenates row sets in order. */
export function concatRows(parts: FeatureRows[], embedDim: number): FeatureRows {
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const out: FeatureRows = { features: new Float32Array(n * embedDim), labels: new Int32Array(n), index: new Int32Array(n), embedDim };
  let at = 0;
  for (const p of parts) {
    if (p.labels.length && p.embedDim !== embedDim) throw new FormatError(`feature width ${p.embedDim} differs from ${embedDim}`);
    out.features.set(p.features, at * embedDim);
    out.labels.set(p.labels, at);
    out.index.set(p.index, at);
    at += p.labels.length;
  }
  return out;
}
