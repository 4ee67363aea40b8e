import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { ConfigError, workspaceRoot } from '@dampl/runtime';
import { loggerFor, useBackend, type GlobalOptions } from './common.js';

interface FeaturesOptions extends GlobalOptions {
  model: string;
  dataset: string;
  root: string;
  domains?: string[];
  split?: string[];
  views: number;
  'batch-size': number;
  'skip-bad': boolean;
  cache: string;
  seed: number;
  json: boolean;
}

export interface FeaturesRow {
  domain: string;
  split: string;
  view: number;
  images: number;
  rows: number;
  skipped: number;
  encoded: number;
  cached: boolean;
  dir: string;
}

export const DEFAULT_FEATURE_CACHE = path.join(workspaceRoot, '.cache', 'features');

export const featuresCommand: CommandModule<GlobalOptions, FeaturesOptions> = {
  command: 'features',
  describe: 'encode a dataset\'s images with a frozen CLIP image encoder into the feature cache (resumable)',
  builder: (y) => y
    .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face CLIP directory, OpenAI-layout .safetensors file, or hub id (openai/clip-vit-base-patch16)' })
    .option('dataset', { type: 'string', demandOption: true, describe: 'registered dataset name (office-home, mini-domainnet, visda-2017, ...)' })
    .option('root', { type: 'string', demandOption: true, describe: 'the dataset root folder' })
    .option('domains', { type: 'string', array: true, describe: 'domains to encode (default: all)' })
    .option('split', { type: 'string', array: true, describe: 'splits to encode (default: those the dataset\'s protocol uses)' })
    .option('views', { type: 'number', default: 1, describe: 'views per image: view 0 is CLIP\'s centre crop, views 1..N-1 seeded random resized crops with flips' })
    .option('batch-size', { type: 'number', default: 32, describe: 'images per encoder call' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'leave unreadable images out (listed in the cache manifest) instead of stopping at the first' })
    .option('cache', { type: 'string', default: DEFAULT_FEATURE_CACHE, describe: 'feature cache folder' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the augmented views' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
    .check((a) => {
      if (!Number.isInteger(a.views) || a.views < 1) throw new ConfigError(`--views must be an integer >= 1, got ${a.views}`);
      if (!Number.isInteger(a['batch-size']) || a['batch-size'] < 1) throw new ConfigError(`--batch-size must be an integer >= 1, got ${a['batch-size']}`);
      return true;
    }) as never,
  handler: async (argv) => {
    const log = loggerFor(argv);
    const backend = await useBackend(argv, log);
    const rows = await encodeDatasetFeatures(argv, log);
    if (argv.json) {
      process.stdout.write(JSON.stringify({ backend: backend.name, rows }, null, 2) + '\n');
      return;
    }
    const header = ['domain', 'split', 'view', 'images', 'rows', 'skipped', 'encoded', 'cache'];
    const table = [header, ...rows.map((r) => [r.domain, r.split, String(r.view), String(r.images), String(r.rows), String(r.skipped),
      r.cached ? 'cached' : String(r.encoded), shortPath(r.dir)])];
    const widths = header.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    process.stdout.write(table.map((row) => row.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n');
  },
};

function shortPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Encodes every requested (domain, split, view) of a dataset; returns one summary row for each. */
async function encodeDatasetFeatures(
  o: Pick<FeaturesOptions, 'model' | 'dataset' | 'root' | 'domains' | 'split' | 'views' | 'batch-size' | 'skip-bad' | 'cache' | 'seed'>,
  log: ReturnType<typeof loggerFor>,
): Promise<FeaturesRow[]> {
  // Loaded here so that other commands start without TensorFlow.js and the dataset modules.
  const { getDataset, findDomain } = await import('@dampl/data');
  await import('@dampl/synth'); // registers the synthetic world
  const { loadClip, extractFeatures, readPreprocessorConfig, clipPreprocess, DEFAULT_AUGMENT } = await import('@dampl/clip');

  const dataset = getDataset(o.dataset);
  const index = await dataset.index(o.root);
  const domains = o.domains?.length ? o.domains.map((d) => findDomain(dataset, d).name) : [...index.domains];
  const protocolSplits = [...new Set([index.splits.trainSource, index.splits.trainTarget, index.splits.testTarget])];
  const splits = o.split?.length ? o.split : protocolSplits;
  for (const s of splits) {
    if (s !== 'all' && !index.splits.names.includes(s)) {
      throw new ConfigError(`${dataset.name} has no split "${s}"`, `use one of: all, ${index.splits.names.join(', ')}`);
    }
  }

  log.info(`loading ${o.model}`);
  const model = await loadClip(o.model, { logger: log });
  try {
    const size = model.config.vision.imageSize;
    const modelDir = existsSync(o.model) && statSync(o.model).isDirectory() ? o.model : undefined;
    const preprocess = modelDir ? await readPreprocessorConfig(modelDir, size) : clipPreprocess(size);
    const augment = { ...DEFAULT_AUGMENT, seed: o.seed };
    const out: FeaturesRow[] = [];
    for (const domain of domains) {
      for (const split of splits) {
        const items = index.select(domain, split).map((it) => ({ path: it.path, label: it.label, domain: it.domain }));
        if (!items.length) {
          log.warn(`${dataset.name}/${domain}/${split}: no images, nothing to encode`);
          continue;
        }
        for (let view = 0; view < o.views; view++) {
          const set = await extractFeatures({
            model, items, root: index.root, cacheDir: o.cache, preprocess, augment,
            key: { dataset: dataset.name, domain, split, view },
            batchSize: o['batch-size'], skipBad: o['skip-bad'], log,
          });
          out.push({
            domain, split, view, images: items.length, rows: set.rows, skipped: set.skipped.length,
            encoded: set.encoded, cached: set.fromCache, dir: set.dir,
          });
        }
      }
    }
    return out;
  } finally {
    model.dispose();
  }
}
