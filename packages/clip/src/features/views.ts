/**
 * K cached augmented views of an image list: view v (1..K) of image i is the v-th seeded
 * augmentation of DAPL's training transform (DAPL_AUGMENT in preprocess.ts), each view its own
 * entry in the feature cache (key `view: v`), so that K views cost K x the extraction of the clean
 * view, once, and resume like any other entry.
 */
import { ConfigError } from '@dampl/runtime';
import { DAPL_AUGMENT, type AugmentConfig } from '../preprocess.js';
import { extractFeatures, type ExtractOptions, type FeatureSet } from './extract.js';

export interface ViewSetCost {
  views: number;
  /** Images run through the encoder by this call (0 when every view came from the cache). */
  imagesEncoded: number;
  /** Wall seconds of this call, reading from the cache included. */
  seconds: number;
}

export interface ViewSet extends ViewSetCost {
  /** sets[v - 1] holds view v of every image, rows in the order of the items. */
  sets: FeatureSet[];
}

/** Extracts (or reads from the cache) views 1..K of `opts.items`; `opts.key.view` is ignored. */
export async function extractViews(opts: Omit<ExtractOptions, 'key'> & { key: Omit<ExtractOptions['key'], 'view'> }, views: number, augment: AugmentConfig = DAPL_AUGMENT): Promise<ViewSet> {
  if (!Number.isInteger(views) || views < 1) throw new ConfigError(`views must be a positive integer, got ${views}`, 'use views=0 for the clean view alone');
  const t0 = performance.now();
  const sets: FeatureSet[] = [];
  let imagesEncoded = 0;
  for (let v = 1; v <= views; v++) {
    const set = await extractFeatures({ ...opts, augment, key: { ...opts.key, view: v } });
    imagesEncoded += set.encoded;
    sets.push(set);
  }
  return { sets, views, imagesEncoded, seconds: (performance.now() - t0) / 1000 };
}
