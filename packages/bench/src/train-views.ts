/**
 * The training views of a cell (core views.ts): with `views` = K > 0 in a method's config, the
 * runner encodes K seeded augmented views of the source and target training images into the
 * feature cache (clip features/views.ts, DAPL's random resized crop + flip) and passes them to the
 * method; the record says which views it trained on and what encoding them cost.
 */
import { parseViews, type FeatureMatrix, type OnlineViews, type TrainViews } from '@dampl/core';
import type { FeatureSet, ViewSet } from '@dampl/clip';

/** What a record says of the views a cell trained on (absent for views 0, the clean view). */
export interface ViewsRecord {
  /** cached: K views encoded once, one drawn per image and epoch; online: each epoch a fresh augmentation of every image. */
  mode: 'cached' | 'online';
  /** The views: K, or the epochs' augmentations encoded for the run (online). */
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
export function viewsOf(config: unknown, _method: string): ReturnType<typeof parseViews> {
  const v = config && typeof config === 'object' ? (config as { views?: unknown }).views : undefined;
  return parseViews(v === undefined ? '0' : (v as string));
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

/**
 * Online views of a cell: `view(side, epoch)` encodes (or reads from the cache) that epoch's
 * fresh augmentation of the side's training images; `record()` sums what the run asked for.
 */
export function onlineViews(view: (side: 'source' | 'target', epoch: number) => Promise<FeatureSet>): { onlineViews: OnlineViews; record: () => ViewsRecord } {
  const epochs = new Set<number>();
  let images = 0;
  let encoded = 0;
  let seconds = 0;
  return {
    onlineViews: {
      async view(side, epoch) {
        const t0 = performance.now();
        const set = await view(side, epoch);
        seconds += (performance.now() - t0) / 1000;
        epochs.add(epoch);
        images += set.rows;
        encoded += set.encoded;
        return { data: set.features, rows: set.rows, dim: set.embedDim };
      },
    },
    record: () => ({ mode: 'online', k: epochs.size, images, encoded, seconds }),
  };
}
