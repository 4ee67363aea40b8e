/**
 * Image feature extraction through a frozen CLIP image encoder, cached on disk.
 *
 * Images are decoded and preprocessed by sharp in libuv's thread pool while the previous batch
 * runs through `encodeImage`, in chunks (256 images by default) that are written as soon as they
 * finish; an interrupted extraction resumes from its last finished chunk. See cache.ts for the
 * layout and the identity that keys it.
 *
 * Usage:
 *   const set = await extractFeatures({
 *     model, items, cacheDir: '.cache/features', root: datasetRoot,
 *     key: { dataset: 'office-home', domain: 'Art', split: 'all', view: 0 },
 *   });
 *   set.features  // Float32Array [set.rows, set.embedDim], row i is image items[set.index[i]]
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32, ConfigError, progress, silentLogger, type Logger } from '@dampl/runtime';
import type { ClipModel } from '../types.js';
import {
  DEFAULT_AUGMENT, ImageReadError, clipPreprocess, loadImage, preprocessDescriptor,
  type AugmentConfig, type PreprocessConfig, type ViewSpec,
} from '../preprocess.js';
import {
  FEATURES_FILE, FeatureCache, chunkFile, concatRows, imageListHash,
  type CacheIdentity, type FeatureKey, type FeatureManifest, type FeatureRows, type SkippedImage,
} from './cache.js';
import { lockCacheEntry } from './lock.js';

export interface ImageItem {
  /** Absolute, or relative to `root`. */
  path: string;
  label: number;
  domain: string;
}

/** The part of a ClipModel that extraction uses. */
export type ImageEncoder = Pick<ClipModel, 'encodeImage' | 'weightsHash' | 'source'> & {
  readonly config: { readonly vision: { readonly imageSize: number } };
};

export interface ExtractOptions {
  model: ImageEncoder;
  items: readonly ImageItem[];
  /** Root of the feature cache; each identity gets its own directory below it. */
  cacheDir: string;
  key: FeatureKey;
  /**
   * The dataset root. Relative item paths are resolved against it, and images are identified
   * (list hash, augmentation seeds) by their path relative to it, so a moved dataset keeps its cache.
   */
  root?: string;
  /** Defaults to CLIP's preprocessing at the model's input size. */
  preprocess?: PreprocessConfig;
  /** For views >= 1; defaults to DEFAULT_AUGMENT. */
  augment?: AugmentConfig;
  /** Images per encodeImage call (default 32). */
  batchSize?: number;
  /** Images per chunk written to disk; rounded up to a multiple of batchSize (default 256). */
  chunkSize?: number;
  /**
   * Leave unreadable images out (listed in the manifest and in the result) instead of failing on
   * the first one. Without it, a cache that recorded skipped images is an error too.
   */
  skipBad?: boolean;
  log?: Logger;
  onProgress?: (done: number, total: number) => void;
  /** Progress display; defaults to a bar on a terminal, lines otherwise. */
  progressMode?: 'bar' | 'lines' | 'off';
}

export interface FeatureSet extends FeatureRows {
  rows: number;
  skipped: SkippedImage[];
  /** The cache directory holding features.safetensors and manifest.json. */
  dir: string;
  identity: CacheIdentity;
  /** True when nothing had to be encoded. */
  fromCache: boolean;
  /** Images run through the encoder by this call. */
  encoded: number;
}

const DEFAULT_BATCH = 32;
const DEFAULT_CHUNK = 256;

interface Prepared {
  pixels: (Float32Array | null)[];
  errors: (SkippedImage | null)[];
}

/** Extracts (or loads from the cache) the features of `items` for one (dataset, domain, split, view). */
export async function extractFeatures(opts: ExtractOptions): Promise<FeatureSet> {
  const { model, items, key } = opts;
  const log = opts.log ?? silentLogger;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(key.view) || key.view < 0) throw new ConfigError(`view must be an integer >= 0, got ${key.view}`);
  const size = model.config.vision.imageSize;
  const cfg = opts.preprocess ?? clipPreprocess(size);
  if (cfg.crop !== size) {
    throw new ConfigError(`preprocessing crops to ${cfg.crop} px but the model takes ${size} px images`, 'use the preprocessor_config.json that came with the model');
  }
  const view: ViewSpec = key.view === 0 ? { index: 0 } : { index: key.view, augment: opts.augment ?? DEFAULT_AUGMENT };

  const files = items.map((it) => (opts.root ? path.resolve(opts.root, it.path) : it.path));
  const keys = files.map((f, i) => (opts.root ? path.relative(opts.root, f).split(path.sep).join('/') : items[i]!.path));
  const identity: CacheIdentity = {
    ...key,
    weightsHash: model.weightsHash,
    preprocess: preprocessDescriptor(cfg, view),
    images: { count: items.length, sha256: imageListHash(keys.map((k, i) => ({ key: k, label: items[i]!.label }))) },
  };
  const cache = FeatureCache.forIdentity(opts.cacheDir, identity);
  const what = `${key.dataset}/${key.domain}/${key.split} view ${key.view}`;
  // one process encodes an entry at a time; the others wait and read what it wrote (lock.ts)
  await using _lock = await lockCacheEntry(cache.dir, { log, what });

  let manifest: FeatureManifest | undefined;
  const found = await cache.readManifest();
  if (found && 'stale' in found) {
    log.warn(`feature cache ${cache.dir}: ${found.stale}; rebuilding it`);
    await cache.clear();
  } else {
    manifest = found;
  }

  if (manifest?.complete) {
    const rows = await cache.readRows(FEATURES_FILE, manifest.rows);
    log.debug(`${what}: ${rows.labels.length} cached features from ${cache.dir}`);
    return finish(rows, manifest, true, 0);
  }

  if (manifest) {
    // Keep the finished chunks whose files are still there, up to the first gap.
    const present = new Set(await cache.chunkFiles());
    const keep = manifest.chunks.findIndex((c) => !present.has(c.file));
    if (keep >= 0) manifest.chunks = manifest.chunks.slice(0, keep);
    manifest.skipped = manifest.chunks.flatMap((c) => c.skipped);
  } else {
    const chunkSize = Math.ceil((opts.chunkSize ?? DEFAULT_CHUNK) / batchSize) * batchSize;
    manifest = cache.newManifest(items.length, chunkSize, model.source);
    await cache.writeManifest(manifest);
  }
  const m = manifest;
  const chunkSize = m.chunkSize;
  const nChunks = Math.ceil(items.length / chunkSize);
  const startAt = m.chunks.length ? m.chunks[m.chunks.length - 1]!.end : 0;
  log.info(startAt > 0
    ? `${what}: resuming at image ${startAt} of ${items.length} (${cache.dir})`
    : `${what}: encoding ${items.length} images into ${cache.dir}`);

  const bar = progress({ total: items.length, title: what, unit: 'img', start: startAt, mode: opts.progressMode });
  let done = startAt;
  let encoded = 0;
  const R = cfg.crop;
  const plane = 3 * R * R;

  const prepare = async (start: number, end: number): Promise<Prepared> => {
    const settled = await Promise.allSettled(
      Array.from({ length: end - start }, (_, j) => loadImage(files[start + j]!, cfg, view, keys[start + j])),
    );
    return {
      pixels: settled.map((s) => (s.status === 'fulfilled' ? s.value : null)),
      errors: settled.map((s, j) => (s.status === 'rejected'
        ? { index: start + j, path: keys[start + j]!, error: errorText(s.reason) }
        : null)),
    };
  };

  try {
    for (let c = m.chunks.length; c < nChunks; c++) {
      const cStart = c * chunkSize;
      const cEnd = Math.min(items.length, cStart + chunkSize);
      const batches: [number, number][] = [];
      for (let b = cStart; b < cEnd; b += batchSize) batches.push([b, Math.min(cEnd, b + batchSize)]);
      const parts: FeatureRows[] = [];
      const skipped: SkippedImage[] = [];
      let next: Promise<Prepared> | undefined = prepare(...batches[0]!);
      for (let b = 0; b < batches.length; b++) {
        const [bStart, bEnd] = batches[b]!;
        const prepared: Prepared = await next!;
        // decode the next batch in the thread pool while this one is encoded
        next = b + 1 < batches.length ? prepare(...batches[b + 1]!) : undefined;
        const ok: number[] = [];
        prepared.pixels.forEach((p, j) => {
          if (p) { ok.push(j); return; }
          const err = prepared.errors[j]!;
          if (!opts.skipBad) throw new ImageReadError(files[err.index]!, err.error);
          log.warn(`skipping unreadable image ${files[err.index]}: ${err.error}`);
          skipped.push(err);
        });
        if (ok.length) {
          const input = new Float32Array(ok.length * plane);
          ok.forEach((j, r) => input.set(prepared.pixels[j]!, r * plane));
          const out = tf.tidy(() => model.encodeImage(tf.tensor4d(input, [ok.length, 3, R, R])));
          const values = await takeFloat32(out);
          const e = out.shape[1];
          if (m.embedDim !== null && e !== m.embedDim) throw new ConfigError(`encoder gave ${e}-wide features, the cache holds ${m.embedDim}`);
          m.embedDim = e;
          encoded += ok.length;
          parts.push({
            features: Float32Array.from(values),
            labels: Int32Array.from(ok, (j) => items[bStart + j]!.label),
            index: Int32Array.from(ok, (j) => bStart + j),
            embedDim: e,
          });
        }
        done += bEnd - bStart;
        bar.tick(bEnd - bStart, `chunk ${c + 1}/${nChunks}`);
        opts.onProgress?.(done, items.length);
      }
      const rows = concatRows(parts, m.embedDim ?? 0);
      const file = chunkFile(c);
      await cache.writeRows(file, rows);
      m.chunks.push({ file, start: cStart, end: cEnd, rows: rows.labels.length, skipped });
      m.skipped.push(...skipped);
      await cache.writeManifest(m);
    }
  } finally {
    bar.stop();
  }

  // Assemble the chunks into one file.
  const parts: FeatureRows[] = [];
  for (const ch of m.chunks) parts.push(await cache.readRows(ch.file, ch.rows));
  const all = concatRows(parts, m.embedDim ?? 0);
  await cache.writeRows(FEATURES_FILE, all, {
    dataset: key.dataset, domain: key.domain, split: key.split, view: String(key.view), weightsHash: model.weightsHash,
  });
  m.rows = all.labels.length;
  m.complete = true;
  m.chunks = [];
  await cache.writeManifest(m);
  await cache.removeChunks();
  log.info(`${what}: ${m.rows} features (${m.embedDim} wide) written to ${cache.dir}${m.skipped.length ? `, ${m.skipped.length} unreadable image(s) skipped` : ''}`);
  return finish(all, m, false, encoded);

  function finish(rows: FeatureRows, man: FeatureManifest, fromCache: boolean, nEncoded: number): FeatureSet {
    if (!opts.skipBad && man.skipped.length) {
      const s = man.skipped[0]!;
      throw new ImageReadError(files[s.index] ?? s.path,
        `${s.error} (the feature cache left out ${man.skipped.length} unreadable image(s); pass skipBad / --skip-bad to accept that)`);
    }
    return { ...rows, rows: rows.labels.length, skipped: man.skipped, dir: cache.dir, identity, fromCache, encoded: nEncoded };
  }
}

function errorText(e: unknown): string {
  if (e instanceof ImageReadError) return e.message.split('\n')[0]!.replace(`cannot read image ${e.file}: `, '');
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
