/**
 * Dataset-shaped trees for the rehearsal (`nx run bench:rehearsal`): the real class and domain
 * names and layout of Office-Home and mini-DomainNet, JPEGs of the real datasets' sizes, and
 * `fraction` of each domain's (and split's) published image count, every class kept. The pixels
 * are seeded noise over a seeded colour: the tree exercises reading, decoding and indexing, not
 * recognition.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ConfigError, Rng } from '@dampl/runtime';
import { MINI_DOMAINNET_CLASSES, OFFICE_HOME_CLASSES } from '@dampl/data';

export interface SplitCount { split: string; images: number }

export interface TreeShape {
  dataset: 'office-home' | 'mini-domainnet';
  classes: readonly string[];
  /** Domain folder -> image count of each split in the full dataset. */
  counts: Readonly<Record<string, readonly SplitCount[]>>;
  /** Where the counts come from. */
  countsSource: string;
  /** Image sizes written: width and height drawn in [min, max] px. */
  size: { min: number; max: number };
  sizeSource: string;
}

/** Office-Home: the counts of the data package's checker (Venkateswara et al., CVPR 2017). */
export const OFFICE_HOME_SHAPE: TreeShape = {
  dataset: 'office-home',
  classes: OFFICE_HOME_CLASSES,
  counts: {
    Art: [{ split: 'all', images: 2427 }],
    Clipart: [{ split: 'all', images: 4365 }],
    Product: [{ split: 'all', images: 4439 }],
    Real_World: [{ split: 'all', images: 4357 }],
  },
  countsSource: 'packages/data office-home expectedCounts (Venkateswara et al., CVPR 2017): 15,588 images',
  size: { min: 300, max: 600 },
  sizeSource: 'most Office-Home images are 300-600 px a side (varied); drawn uniformly per side',
};

/**
 * mini-DomainNet: the data package publishes no per-domain counts (its checker reports them
 * without a reference). These are the per-domain totals this rehearsal assumes, about 140k
 * images (clipart 18,703, painting 31,202, real 65,609, sketch 24,492), split 80/20 into train
 * and test; they are an assumption for the projection, to be replaced by `dampl data check`'s
 * counts of a real copy.
 */
export const MINI_DOMAINNET_SHAPE: TreeShape = {
  dataset: 'mini-domainnet',
  classes: MINI_DOMAINNET_CLASSES,
  counts: Object.fromEntries(([['clipart', 18703], ['painting', 31202], ['real', 65609], ['sketch', 24492]] as const)
    .map(([d, n]) => [d, [{ split: 'train', images: Math.round(n * 0.8) }, { split: 'test', images: n - Math.round(n * 0.8) }]])),
  countsSource: 'assumed per-domain totals (about 140k images, split 80/20 into train/test); not verified: the data package has no reference counts',
  size: { min: 96, max: 96 },
  sizeSource: 'mini-DomainNet is read at 96 x 96 (the DAEL protocol); written at that size',
};

export const TREE_SHAPES: Readonly<Record<TreeShape['dataset'], TreeShape>> = {
  'office-home': OFFICE_HOME_SHAPE,
  'mini-domainnet': MINI_DOMAINNET_SHAPE,
};

/** Images of a split at `fraction`: at least one a class, so every class and prompt is kept. */
export function imagesAt(full: number, fraction: number, classes: number): number {
  if (!(fraction > 0 && fraction <= 1)) throw new ConfigError(`--fraction must be in (0, 1], got ${fraction}`, 'e.g. --fraction 0.05');
  return Math.max(classes, Math.round(full * fraction));
}

export interface WrittenTree {
  dataset: string;
  root: string;
  /** Domain -> split -> images written. */
  written: Record<string, Record<string, number>>;
  bytes: number;
  seconds: number;
}

/** Writes `shape` at `fraction` under `root` (emptied first), in the layout the dataset's loader reads. */
export async function writeTree(shape: TreeShape, root: string, fraction: number, seed = 0): Promise<WrittenTree> {
  const t0 = performance.now();
  await rm(root, { recursive: true, force: true });
  const rng = new Rng(seed);
  const written: Record<string, Record<string, number>> = {};
  const lists: Record<string, string[]> = {};
  let bytes = 0;
  const K = shape.classes.length;
  for (const [domain, splits] of Object.entries(shape.counts)) {
    written[domain] = {};
    for (const { split, images } of splits) {
      const n = imagesAt(images, fraction, K);
      written[domain]![split] = n;
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const k = i % K;
        const cls = shape.classes[k]!;
        const name = shape.dataset === 'office-home' ? `${String(Math.floor(i / K) + 1).padStart(5, '0')}.jpg` : `${domain}_${split}_${String(i).padStart(6, '0')}.jpg`;
        const rel = path.join(domain, cls, name);
        const side = () => shape.size.min + Math.floor(rng.next() * (shape.size.max - shape.size.min + 1));
        const jpg = await noiseJpeg(side(), side(), rng);
        await mkdir(path.join(root, domain, cls), { recursive: true });
        await writeFile(path.join(root, rel), jpg);
        bytes += jpg.length;
        lines.push(`${rel.split(path.sep).join('/')} ${k}`);
      }
      lists[`${domain}_${split}.txt`] = lines;
    }
  }
  if (shape.dataset === 'mini-domainnet') {
    await mkdir(path.join(root, 'splits_mini'), { recursive: true });
    for (const [file, lines] of Object.entries(lists)) await writeFile(path.join(root, 'splits_mini', file), lines.join('\n') + '\n');
  }
  return { dataset: shape.dataset, root, written, bytes, seconds: (performance.now() - t0) / 1000 };
}

/** A seeded colour gradient with mild noise (an LCG per byte: fast, and JPEG sizes like photographs'). */
async function noiseJpeg(width: number, height: number, rng: Rng): Promise<Buffer> {
  const base = [rng.int(160), rng.int(160), rng.int(160)];
  const px = Buffer.alloc(width * height * 3);
  let s = rng.int(0x7fffffff) + 1;
  for (let y = 0, j = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++, j++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        px[j] = base[c]! + ((c === 0 ? x : c === 1 ? y : x + y) * 64) / (width + height) + (s >>> 27);
      }
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

/** Bytes under a folder (the feature cache). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const { stat } = await import('node:fs/promises');
  for (const e of entries) if (e.isFile()) total += (await stat(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  return total;
}
