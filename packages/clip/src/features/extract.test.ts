import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, readSafetensors, selectBackend } from '@dampl/runtime';
import { ImageReadError, clipPreprocess } from '../preprocess.js';
import { FEATURES_FILE, MANIFEST, type FeatureManifest } from './cache.js';
import { extractFeatures, type ImageEncoder, type ImageItem } from './extract.js';

const SIZE = 8;
const EMBED = 5;

/**
 * A stand-in for a CLIP image tower: mean-pools each channel and applies a fixed random linear
 * map [3, E]. Counts the images it sees and can be told to fail on a given call.
 */
class FakeEncoder implements ImageEncoder {
  readonly config = { vision: { imageSize: SIZE } };
  readonly source = 'fake';
  seen = 0;
  calls = 0;
  private readonly w: tf.Tensor2D;

  constructor(readonly weightsHash: string, private readonly failOnCall = Infinity) {
    this.w = tf.keep(tf.tensor2d(new Rng(weightsHash.length).normalArray(3 * EMBED), [3, EMBED]));
  }

  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    if (++this.calls >= this.failOnCall) throw new Error(`encoder stopped at call ${this.calls}`);
    this.seen += pixels.shape[0];
    return tf.matMul(tf.mean(pixels, [2, 3]) as tf.Tensor2D, this.w);
  }
}

let root: string;
let items: ImageItem[];

beforeAll(async () => {
  await selectBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'clip-feat-'));
  items = [];
  for (let i = 0; i < 20; i++) {
    const rel = `cls${i % 3}/img${i}.png`;
    const file = path.join(root, 'data', rel);
    const raw = Buffer.alloc(12 * 10 * 3);
    for (let p = 0; p < 12 * 10; p++) raw.set([(i * 37 + p) % 256, (i * 11) % 256, 255 - ((i * 5 + p) % 256)], p * 3);
    await sharp(raw, { raw: { width: 12, height: 10, channels: 3 } }).toFormat('png').toFile(await ensureDir(file));
    items.push({ path: rel, label: i % 3, domain: 'art' });
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function ensureDir(file: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.dirname(file), { recursive: true });
  return file;
}

const key = { dataset: 'toy', domain: 'art', split: 'all', view: 0 };
const quiet = { progressMode: 'off' as const };
const freshCache = () => mkdtempSync(path.join(root, 'cache-'));
const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as FeatureManifest;

describe('extractFeatures', () => {
  it('encodes every image once, then serves the cache', async () => {
    const cacheDir = freshCache();
    const enc = new FakeEncoder('weights-a');
    const a = await extractFeatures({ model: enc, items, cacheDir, key, root: path.join(root, 'data'), batchSize: 3, chunkSize: 6, ...quiet });
    expect(enc.seen).toBe(20);
    expect([a.rows, a.embedDim, a.fromCache, a.encoded]).toEqual([20, EMBED, false, 20]);
    expect(Array.from(a.labels)).toEqual(items.map((it) => it.label));
    expect(Array.from(a.index)).toEqual(items.map((_, i) => i));
    const m = manifestOf(a.dir);
    expect(m.complete).toBe(true);
    expect(m.chunkSize).toBe(6);
    expect(readdirSync(a.dir).sort()).toEqual([FEATURES_FILE, MANIFEST]);
    const { tensors } = await readSafetensors(path.join(a.dir, FEATURES_FILE));
    expect(tensors.get('features')!.shape).toEqual([20, EMBED]);
    expect(tensors.get('labels')!.dtype).toBe('I32');

    const again = await extractFeatures({ model: enc, items, cacheDir, key, root: path.join(root, 'data'), ...quiet });
    expect(enc.seen).toBe(20);
    expect(again.fromCache).toBe(true);
    expect(Array.from(again.features)).toEqual(Array.from(a.features));

    // the features are the encoder's output for the preprocessed image
    const { loadImage } = await import('../preprocess.js');
    const px = await loadImage(path.join(root, 'data', items[4]!.path), clipPreprocess(SIZE));
    const want = tf.tidy(() => enc.encodeImage(tf.tensor4d(px, [1, 3, SIZE, SIZE])).dataSync());
    Array.from(want).forEach((v, j) => expect(a.features[4 * EMBED + j]).toBeCloseTo(v, 5));
  });

  it('resumes an interrupted run from its last finished chunk', async () => {
    const cacheDir = freshCache();
    const opts = { items, cacheDir, key, root: path.join(root, 'data'), batchSize: 2, chunkSize: 4, ...quiet };
    // fails on its 4th batch: chunk 0 (images 0-3) is written, images 4-5 of chunk 1 are lost
    const broken = new FakeEncoder('weights-a', 4);
    await expect(extractFeatures({ ...opts, model: broken })).rejects.toThrow(/encoder stopped at call 4/);
    expect(broken.seen).toBe(6);
    const dirs = readdirSync(path.join(cacheDir, 'toy', 'art'));
    expect(dirs).toHaveLength(1);
    const m = manifestOf(path.join(cacheDir, 'toy', 'art', dirs[0]!));
    expect(m.complete).toBe(false);
    expect(m.chunks.map((c) => [c.start, c.end])).toEqual([[0, 4]]);

    const healthy = new FakeEncoder('weights-a');
    const resumed = await extractFeatures({ ...opts, model: healthy });
    expect(healthy.seen).toBe(16);
    expect(resumed.encoded).toBe(16);

    const reference = await extractFeatures({ ...opts, cacheDir: freshCache(), model: new FakeEncoder('weights-a') });
    expect(Array.from(resumed.features)).toEqual(Array.from(reference.features));
    expect(Array.from(resumed.labels)).toEqual(Array.from(reference.labels));
  });

  it('never reuses features made by other weights or other preprocessing', async () => {
    const cacheDir = freshCache();
    const base = { items, cacheDir, key, root: path.join(root, 'data'), batchSize: 4, ...quiet };
    const a = await extractFeatures({ ...base, model: new FakeEncoder('weights-a') });
    const other = new FakeEncoder('weights-bb');
    const b = await extractFeatures({ ...base, model: other });
    expect(other.seen).toBe(20);
    expect(b.dir).not.toBe(a.dir);
    expect(Array.from(b.features)).not.toEqual(Array.from(a.features));

    const pre = new FakeEncoder('weights-a');
    const c = await extractFeatures({ ...base, model: pre, preprocess: { ...clipPreprocess(SIZE), mean: [0.5, 0.5, 0.5] } });
    expect(pre.seen).toBe(20);
    expect(c.dir).not.toBe(a.dir);

    const relabelled = new FakeEncoder('weights-a');
    await extractFeatures({ ...base, model: relabelled, items: items.map((it) => ({ ...it, label: 0 })) });
    expect(relabelled.seen).toBe(20);

    // a manifest in the right place that claims another identity is not trusted either
    const m = manifestOf(a.dir);
    m.identity.weightsHash = 'something-else';
    writeFileSync(path.join(a.dir, MANIFEST), JSON.stringify(m));
    const again = new FakeEncoder('weights-a');
    const rebuilt = await extractFeatures({ ...base, model: again });
    expect(again.seen).toBe(20);
    expect(rebuilt.dir).toBe(a.dir);
    expect(Array.from(rebuilt.features)).toEqual(Array.from(a.features));
    expect(manifestOf(a.dir).identity.weightsHash).toBe('weights-a');
  });

  it('gives reproducible augmented views under their own key', async () => {
    const cacheDir = freshCache();
    const base = { items, key: { ...key, view: 1 }, root: path.join(root, 'data'), batchSize: 5, ...quiet };
    const v1 = await extractFeatures({ ...base, cacheDir, model: new FakeEncoder('weights-a') });
    const v1b = await extractFeatures({ ...base, cacheDir: freshCache(), model: new FakeEncoder('weights-a') });
    const v0 = await extractFeatures({ ...base, cacheDir, key, model: new FakeEncoder('weights-a') });
    expect(Array.from(v1.features)).toEqual(Array.from(v1b.features));
    expect(Array.from(v1.features)).not.toEqual(Array.from(v0.features));
    expect(v1.identity.preprocess).toMatchObject({ crop: 'random-resized', view: 1 });
  });

  describe('unreadable images', () => {
    let bad: ImageItem[];
    beforeAll(() => {
      writeFileSync(path.join(root, 'data', 'broken.jpg'), Buffer.from('not an image'));
      bad = [...items.slice(0, 9)];
      bad.splice(5, 0, { path: 'broken.jpg', label: 2, domain: 'art' });
    });

    it('fail naming the file, keeping the chunks already written; skipBad resumes and leaves them out', async () => {
      const cacheDir = freshCache();
      const opts = { items: bad, cacheDir, key, root: path.join(root, 'data'), batchSize: 2, chunkSize: 4, ...quiet };
      const first = new FakeEncoder('weights-a');
      const err = await extractFeatures({ ...opts, model: first }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageReadError);
      expect((err as Error).message).toContain(path.join(root, 'data', 'broken.jpg'));
      expect(first.seen).toBe(4);
      const dir = path.join(cacheDir, 'toy', 'art', readdirSync(path.join(cacheDir, 'toy', 'art'))[0]!);
      expect(manifestOf(dir).chunks).toHaveLength(1);
      expect(existsSync(path.join(dir, 'chunk-00000.safetensors'))).toBe(true);

      const second = new FakeEncoder('weights-a');
      const set = await extractFeatures({ ...opts, model: second, skipBad: true });
      expect(second.seen).toBe(5);
      expect(set.rows).toBe(9);
      expect(set.skipped).toEqual([{ index: 5, path: 'broken.jpg', error: expect.stringMatching(/./) }]);
      expect(Array.from(set.index)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
      expect(Array.from(set.labels)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9].map((i) => bad[i]!.label));
      expect(manifestOf(set.dir).skipped.map((s) => s.path)).toEqual(['broken.jpg']);

      // the complete cache still refuses to hide the bad image from a run without skipBad
      await expect(extractFeatures({ ...opts, model: new FakeEncoder('weights-a') })).rejects.toThrow(/broken\.jpg/);
      const cached = await extractFeatures({ ...opts, model: new FakeEncoder('weights-a'), skipBad: true });
      expect(cached.fromCache).toBe(true);
      expect(cached.skipped).toHaveLength(1);
    });
  });
});
