/**
 * Views: which image views a method that trains on image features sees.
 *
 *   '0'       one clean view (CLIP's centre crop) for every epoch; the synthetic suite's default,
 *             so its results, config hashes and predictions stand;
 *   'K' (> 0) K cached augmented views per image (DAPL's random resized crop + flip, encoded once
 *             into the feature cache); each epoch takes one view per image, seeded by the run's
 *             seed, the epoch and the domain;
 *   'online'  the image encoder runs on each batch's fresh augmentation (DAPL's trainer runs its
 *             frozen image encoder on every batch).
 * Evaluation always uses the clean view.
 */
import { ConfigError, DamplError, Rng } from '@dampl/runtime';
import type { FeatureMatrix } from './feature-matrix.js';

export type ViewsMode = { kind: 'clean' } | { kind: 'cached'; k: number } | { kind: 'online' };

/** The `views` key of every schema of a method that trains on image features. */
export const VIEWS_FIELD = {
  type: 'string',
  default: '0',
  hashOmitsDefault: true,
  doc: "training views: '0' (the clean view), K > 0 cached augmented views per image, or 'online' (fresh augmentation each batch)",
  source: 'DAPL (LeapLabTHU/DAPrompt) trains on a fresh random resized crop + flip of every image each batch; 0 keeps the clean view of the synthetic suite',
} as const;

/** Parses a `views` value; a wrong one is a ConfigError saying what to write. */
export function parseViews(value: string | number): ViewsMode {
  const s = String(value).trim();
  if (s === 'online') return { kind: 'online' };
  if (/^\d+$/.test(s)) {
    const k = Number(s);
    return k === 0 ? { kind: 'clean' } : { kind: 'cached', k };
  }
  throw new ConfigError(`views is ${JSON.stringify(value)}; expected 0, a positive integer K or 'online'`, 'e.g. --set dapl.views=4');
}

/** The cached views a method trains on: views[v] holds view v + 1 of every row, in the clean features' order. */
export interface TrainViews {
  source: readonly FeatureMatrix[];
  target: readonly FeatureMatrix[];
}

/** Which of K views each of `rows` images takes in `epoch` (1-based); seeded by seed, epoch and domain. */
export function epochViewIndices(rows: number, k: number, seed: number, epoch: number, domain: 'source' | 'target'): Int32Array {
  const rng = new Rng(seed).fork(`views ${domain} epoch ${epoch}`);
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = rng.int(k);
  return out;
}

/** The features of `epoch`: row i from view epochViewIndices(...)[i] of `views`. */
export function epochView(views: readonly FeatureMatrix[], seed: number, epoch: number, domain: 'source' | 'target'): FeatureMatrix {
  const first = views[0];
  if (!first) throw new ConfigError('no cached views to sample from', "extract the views first, or use views=0");
  for (const v of views) {
    if (v.rows !== first.rows || v.dim !== first.dim) throw new ConfigError(`cached views differ in shape: ${v.rows}x${v.dim} against ${first.rows}x${first.dim}`, 'rebuild the feature cache');
  }
  const pick = epochViewIndices(first.rows, views.length, seed, epoch, domain);
  const data = new Float32Array(first.rows * first.dim);
  for (let i = 0; i < first.rows; i++) data.set(views[pick[i]!]!.data.subarray(i * first.dim, (i + 1) * first.dim), i * first.dim);
  return { data, rows: first.rows, dim: first.dim };
}

/**
 * The cached views a run trains on (undefined for views=0), checked against the clean features;
 * views=online is refused until the runner passes an image encoder to methods.
 */
function trainViewsFor(input: { source: FeatureMatrix; target: FeatureMatrix; trainViews?: TrainViews }, views: string, method: string): TrainViews | undefined {
  const mode = parseViews(views);
  if (mode.kind === 'clean') return undefined;
  if (mode.kind === 'online') throw new ConfigError(`${method}: views=online gives no cached views`, 'use epochFeaturesFor, which takes online views too');
  const v = input.trainViews;
  if (!v || v.source.length !== mode.k || v.target.length !== mode.k) {
    throw new ConfigError(`views=${mode.k} needs ${mode.k} cached views of the source and target (input.trainViews), got ${v ? `${v.source.length} and ${v.target.length}` : 'none'}`, 'extract them with extractViews (packages/clip) or run through dampl bench run');
  }
  for (const [m, clean, what] of [...v.source.map((m) => [m, input.source, 'source'] as const), ...v.target.map((m) => [m, input.target, 'target'] as const)]) {
    if (m.rows !== clean.rows || m.dim !== clean.dim) throw new DamplError(`a cached ${what} view is ${m.rows}x${m.dim}, the clean ${what} features ${clean.rows}x${clean.dim}`, 'rebuild the feature cache');
  }
  return v;
}

/**
 * Online views: each epoch a fresh augmentation of every training image, run through the frozen
 * image encoder by the caller (the bench runner) when the epoch starts. Within an epoch an image
 * seen twice (the smaller domain cycled to fill the epoch) gets the same view.
 */
export interface OnlineViews {
  /** Features [rows, E] of epoch `epoch`'s (1-based) augmentation of every `side` training image, in the clean features' order. */
  view(side: 'source' | 'target', epoch: number): Promise<FeatureMatrix>;
}

/** The features a method trains on in an epoch (1-based), for one side. */
export type EpochFeatures = (side: 'source' | 'target', epoch: number) => Promise<FeatureMatrix>;

/**
 * What a method with `views` trains on each epoch: undefined for the clean view; for K cached
 * views one view per image drawn from `seed`, the epoch and the side; for online views the
 * caller's fresh augmentation of the epoch. Views are checked against the clean features.
 */
export function epochFeaturesFor(
  input: { source: FeatureMatrix; target: FeatureMatrix; trainViews?: TrainViews; onlineViews?: OnlineViews; seed: number },
  views: string,
  method: string,
): EpochFeatures | undefined {
  if (parseViews(views).kind === 'online') {
    const online = input.onlineViews;
    if (!online) {
      throw new ConfigError(`${method}: views=online needs an image encoder for each epoch's fresh augmentation (input.onlineViews)`, 'run it through dampl bench run, which passes one, or use views=K');
    }
    return async (side, epoch) => {
      const m = await online.view(side, epoch);
      const clean = side === 'source' ? input.source : input.target;
      if (m.rows !== clean.rows || m.dim !== clean.dim) throw new DamplError(`epoch ${epoch}'s online ${side} view is ${m.rows}x${m.dim}, the clean ${side} features ${clean.rows}x${clean.dim}`);
      return m;
    };
  }
  const cached = trainViewsFor(input, views, method);
  if (!cached) return undefined;
  return async (side, epoch) => epochView(side === 'source' ? cached.source : cached.target, input.seed, epoch, side);
}
