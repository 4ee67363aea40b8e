/**
 * A dataset of a run made ready: the synthetic world generated where it is absent, the tree
 * indexed, and each (domain, split) encoded once through the frozen image encoder into the
 * feature cache on first use, clean, as K augmented views, or as an epoch's online view.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DamplError, type Logger } from '@dampl/runtime';
import { getDataset, type DatasetIndex } from '@dampl/data';
import { generateSynthWorld } from '@dampl/synth';
import type { ClipModel, FeatureSet, ViewSet } from '@dampl/clip';
import { formatSeconds } from './estimates.js';
import { SYNTH_CLIP_DIR, SYNTH_WORLD_SEED, displayPath, unreadableDataset, type SkippedDataset, type SuiteDataset } from './suites.js';

/** What preparing a dataset takes of a run's options. */
export interface PrepareOptions {
  log: Logger;
  cacheDir: string;
  batchSize?: number;
  /** Set in a worker process: the parent generated the data. */
  claimDir?: string;
}

export async function openModel(model: string, log: Logger): Promise<ClipModel> {
  if (path.resolve(model) === SYNTH_CLIP_DIR && !existsSync(SYNTH_CLIP_DIR)) {
    throw new ConfigError(`the tiny CLIP of the synthetic world is not at ${displayPath(SYNTH_CLIP_DIR)}`,
      'update the checkout, or pass --model <Hugging Face CLIP directory or OpenAI-layout .safetensors file>');
  }
  const { loadClip } = await import('@dampl/clip');
  log.info(`loading ${model}`);
  return loadClip(model, { logger: log });
}

export interface PreparedDataset {
  index: DatasetIndex;
  features(domain: string, split: string): Promise<FeatureSet>;
  /** K cached augmented views of a domain's split (train-views.ts). */
  views(domain: string, split: string, k: number): Promise<ViewSet>;
  /** Epoch `epoch`'s fresh augmentation of a domain's split for run seed `seed` (online views), encoded when first asked for, then cached. */
  onlineView(domain: string, split: string, epoch: number, seed: number): Promise<FeatureSet>;
}

export async function prepareDataset(o: PrepareOptions, d: SuiteDataset, clip: ClipModel, model: string): Promise<PreparedDataset | SkippedDataset> {
  const { log } = o;
  // workers find the data their parent generated
  if (d.generate === 'synth-world' && !o.claimDir) {
    const t0 = Date.now();
    const r = await generateSynthWorld({ root: d.root, seed: SYNTH_WORLD_SEED, split: 'adapt' });
    const a = r.splits.adapt!;
    log.info(`synthetic world at ${displayPath(d.root)}: ${a.written} image(s) written, ${a.skipped} present (${formatSeconds((Date.now() - t0) / 1000)})`);
  }
  let index: DatasetIndex;
  try {
    index = await getDataset(d.dataset).index(d.root);
  } catch (e) {
    return unreadableDataset(d, e as Error);
  }
  const { extractFeatures, extractViews, readPreprocessorConfig, clipPreprocess, DAPL_AUGMENT } = await import('@dampl/clip');
  const size = clip.config.vision.imageSize;
  const isDir = existsSync(model) && statSync(model).isDirectory();
  const preprocess = isDir ? await readPreprocessorConfig(model, size) : clipPreprocess(size);
  const sets = new Map<string, Promise<FeatureSet>>();
  const viewSets = new Map<string, Promise<ViewSet>>();
  const quiet = log.level === 'silent' || log.level === 'error' || log.level === 'warn';
  return {
    index,
    views(domain, split, k) {
      const key = `${domain}\u0000${split}\u0000${k}`;
      let p = viewSets.get(key);
      if (!p) {
        const items = index.select(domain, split).map((it) => ({ path: it.path, label: it.label, domain: it.domain }));
        p = extractViews({
          model: clip, items, root: index.root, cacheDir: o.cacheDir, preprocess,
          key: { dataset: d.dataset, domain, split }, batchSize: o.batchSize ?? 32, log, progressMode: quiet ? 'off' : undefined,
        }, k).then((v) => {
          if (v.imagesEncoded) log.info(`${d.dataset}/${domain}/${split}: ${k} augmented view(s), ${v.imagesEncoded} image(s) encoded in ${formatSeconds(v.seconds)}`);
          return v;
        });
        viewSets.set(key, p);
      }
      return p;
    },
    onlineView(domain, split, epoch, seed) {
      const items = index.select(domain, split).map((it) => ({ path: it.path, label: it.label, domain: it.domain }));
      // the augmentation's seed is the run's: another seed sees other views, another method of the same seed the same ones
      return extractFeatures({
        model: clip, items, root: index.root, cacheDir: o.cacheDir, preprocess, augment: { ...DAPL_AUGMENT, seed },
        key: { dataset: d.dataset, domain, split, view: epoch }, batchSize: o.batchSize ?? 32, log, progressMode: quiet ? 'off' : undefined,
      });
    },
    features(domain, split) {
      const k = `${domain}\u0000${split}`;
      let p = sets.get(k);
      if (!p) {
        const items = index.select(domain, split).map((it) => ({ path: it.path, label: it.label, domain: it.domain }));
        if (!items.length) throw new DamplError(`${d.dataset}: no images in ${domain}/${split}`, `check the data with: npx dampl data check --dataset ${d.dataset} --root ${displayPath(d.root)}`);
        const t0 = Date.now();
        p = extractFeatures({
          model: clip, items, root: index.root, cacheDir: o.cacheDir, preprocess,
          key: { dataset: d.dataset, domain, split, view: 0 }, batchSize: o.batchSize ?? 32, log,
          progressMode: log.level === 'silent' || log.level === 'error' || log.level === 'warn' ? 'off' : undefined,
        }).then((set) => {
          if (set.encoded) log.info(`${d.dataset}/${domain}/${split}: ${set.encoded} image(s) encoded in ${formatSeconds((Date.now() - t0) / 1000)}`);
          return set;
        });
        sets.set(k, p);
      }
      return p;
    },
  };
}
