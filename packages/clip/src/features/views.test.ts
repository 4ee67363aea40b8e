import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@dampl/runtime';
import { DAPL_AUGMENT, clipPreprocess, decodeImage, transformImage } from '../preprocess.js';
import { type ImageEncoder, type ImageItem } from './extract.js';
import { extractViews } from './views.js';

const SIZE = 8;

/** Mean-pools each channel through a fixed linear map; counts the images it sees. */
class PoolEncoder implements ImageEncoder {
  readonly config = { vision: { imageSize: SIZE } };
  readonly source = 'pool';
  readonly weightsHash = 'pool-weights';
  seen = 0;
  private readonly w = tf.keep(tf.tensor2d(new Rng(3).normalArray(3 * 4), [3, 4]));
  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    this.seen += pixels.shape[0];
    return tf.matMul(tf.mean(pixels, [2, 3]) as tf.Tensor2D, this.w);
  }
}

let root: string;
const items: ImageItem[] = [];

beforeAll(async () => {
  await selectBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'clip-views-'));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.join(root, 'data'), { recursive: true });
  for (let i = 0; i < 6; i++) {
    // a horizontal and vertical gradient, so that every crop has its own mean colour
    const raw = Buffer.alloc(24 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 24; x++) raw.set([x * 10, y * 12, (i * 40 + x * y) % 256], (y * 24 + x) * 3);
    await sharp(raw, { raw: { width: 24, height: 20, channels: 3 } }).png().toFile(path.join(root, 'data', `img${i}.png`));
    items.push({ path: `img${i}.png`, label: i % 2, domain: 'art' });
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('DAPL_AUGMENT', () => {
  it('is seeded: the same view of the same image gives the same pixels, another view or the clean view other pixels', async () => {
    const img = await decodeImage(path.join(root, 'data', 'img0.png'));
    const cfg = clipPreprocess(SIZE);
    const v1 = await transformImage(img, cfg, { index: 1, augment: DAPL_AUGMENT }, 'img0.png');
    const v1again = await transformImage(img, cfg, { index: 1, augment: DAPL_AUGMENT }, 'img0.png');
    const v2 = await transformImage(img, cfg, { index: 2, augment: DAPL_AUGMENT }, 'img0.png');
    const clean = await transformImage(img, cfg, { index: 0 }, 'img0.png');
    expect(Array.from(v1again)).toEqual(Array.from(v1));
    expect(Array.from(v2)).not.toEqual(Array.from(v1));
    expect(Array.from(v1)).not.toEqual(Array.from(clean));
  });
});

describe('extractViews', () => {
  const opts = () => ({ items, root: path.join(root, 'data'), key: { dataset: 'toy', domain: 'art', split: 'all' }, batchSize: 4, progressMode: 'off' as const });

  it('encodes K distinct views once each, records the cost, and serves them from the cache on a second call', async () => {
    const cacheDir = mkdtempSync(path.join(root, 'cache-'));
    const enc = new PoolEncoder();
    const first = await extractViews({ ...opts(), cacheDir, model: enc }, 4);
    expect(first.sets).toHaveLength(4);
    expect([first.views, first.imagesEncoded, enc.seen]).toEqual([4, 24, 24]);
    expect(first.seconds).toBeGreaterThan(0);
    const rows = first.sets.map((s) => Array.from(s.features).join(','));
    expect(new Set(rows).size).toBe(4);
    expect(new Set(first.sets.map((s) => s.dir)).size).toBe(4);

    const again = await extractViews({ ...opts(), cacheDir, model: enc }, 4);
    expect([again.imagesEncoded, enc.seen]).toEqual([0, 24]);
    expect(again.sets.map((s) => Array.from(s.features).join(','))).toEqual(rows);
  });

  it('resumes a partial set: a fifth view encodes only its own images', async () => {
    const cacheDir = mkdtempSync(path.join(root, 'cache-'));
    const enc = new PoolEncoder();
    await extractViews({ ...opts(), cacheDir, model: enc }, 2);
    const more = await extractViews({ ...opts(), cacheDir, model: enc }, 5);
    expect([more.imagesEncoded, enc.seen]).toEqual([18, 30]);
  });

  it('rejects a view count that is not a positive integer', async () => {
    await expect(extractViews({ ...opts(), cacheDir: root, model: new PoolEncoder() }, 0)).rejects.toThrow(/views=0/);
  });
});
