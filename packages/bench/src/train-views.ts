/**
 * The training views of a cell (core views.ts): with `views` = K > 0 in a method's config, the
 * runner encodes K seeded augmented views of the source and target training images into the
 * feature cache (clip features/views.ts, DAPL's random resized crop + flip) and passes them to the
 * method; the record says which views it trained on and what encoding them cost.
 */
import { ConfigError } from '@dampl/runtime';
import { parseViews, type FeatureMatrix, type TrainViews } from '@dampl/core';
import type { ViewSet } from '@dampl/clip';

/** What a record says of the views a cell trained on (absent for views 0, the clean view). */
export interface ViewsRecord {
  mode: 'cached';
  k: number;
  /** Feature rows encoded for these views: K x (source + target training images). */
  images: number;
  /** Of those, the images this process ran through the encoder (0 when all came from the cache). */
  encoded: number;
  /** Wall seconds of extracting (or reading) the views in this process. */
  seconds: number;
}

const matrix = (s: ViewSet['sets'][number]): FeatureMatrix => ({ data: s.features, rows: s.rows, dim: s.embedDim });

/** The `views` of a cell's config: 0 (the clean view), K, or 'online'. */
export function viewsOf(config: unknown, method: string): ReturnType<typeof parseViews> {
  const v = config && typeof config === 'object' ? (config as { views?: unknown }).views : undefined;
  const mode = parseViews(v === undefined ? '0' : (v as string));
  if (mode.kind === 'online') {
    throw new ConfigError(`${method}: views=online is not run by the benchmark runner yet`, `use --set ${method}.views=4 (cached augmented views) or 0`);
  }
  return mode;
}

/** The cached views of a cell's source and target, and their entry in the record. */
export async function cellViews(k: number, views: (side: 'source' | 'target') => Promise<ViewSet>): Promise<{ trainViews: TrainViews; record: ViewsRecord }> {
  const s = await views('source');
  const t = await views('target');
  return {
    trainViews: { source: s.sets.map(matrix), target: t.sets.map(matrix) },
    record: { mode: 'cached', k, images: s.sets.reduce((n, x) => n + x.rows, 0) + t.sets.reduce((n, x) => n + x.rows, 0), encoded: s.imagesEncoded + t.imagesEncoded, seconds: s.seconds + t.seconds },
  };
}
