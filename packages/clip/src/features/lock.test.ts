import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { extractFeatures, type ImageEncoder, type ImageItem } from './extract.js';
import { lockCacheEntry } from './lock.js';

let root: string;
beforeAll(async () => {
  await selectBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'clip-lock-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('lockCacheEntry', () => {
  it('makes a second locker wait until the first releases', async () => {
    const dir = path.join(root, 'a', 'entry');
    const events: string[] = [];
    const first = await lockCacheEntry(dir, { pollMs: 10 });
    const second = lockCacheEntry(dir, { pollMs: 10 }).then((l) => { events.push('second has it'); return l; });
    await new Promise((r) => setTimeout(r, 100));
    events.push('first releases');
    await first.release();
    await (await second).release();
    expect(events).toEqual(['first releases', 'second has it']);
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });

  it('takes over a lock whose process is gone, and waits on a live one of another host until it is stale', async () => {
    const dir = path.join(root, 'b', 'entry');
    await mkdir(path.dirname(dir), { recursive: true });
    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: deadPid(), host: os.hostname(), since: '', token: 'x' }));
    const l = await lockCacheEntry(dir, { pollMs: 10 });
    await l.release();

    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', since: '', token: 'y' }));
    const waiting = lockCacheEntry(dir, { pollMs: 10, staleMs: 60_000 });
    const raced = await Promise.race([waiting.then(() => 'taken'), new Promise((r) => setTimeout(() => r('waiting'), 150))]);
    expect(raced).toBe('waiting');
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${dir}.lock`, old, old);
    await (await waiting).release();
  });
});

describe('extractFeatures under the lock', () => {
  it('encodes an entry once when two extractions of it run at the same time', async () => {
    const items: ImageItem[] = [];
    for (let i = 0; i < 6; i++) {
      const file = path.join(root, 'data', `img${i}.png`);
      await mkdir(path.dirname(file), { recursive: true });
      await sharp(Buffer.alloc(8 * 8 * 3, i * 40), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(file);
      items.push({ path: `img${i}.png`, label: i % 2, domain: 'art' });
    }
    let seen = 0;
    const model: ImageEncoder = {
      config: { vision: { imageSize: 8 } }, source: 'fake', weightsHash: 'fake-1',
      encodeImage: (p: tf.Tensor4D) => { seen += p.shape[0]; return tf.mean(p, [2, 3]) as tf.Tensor2D; },
    };
    const opts = { model, items, root: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), key: { dataset: 'd', domain: 'art', split: 'all', view: 0 }, batchSize: 2, progressMode: 'off' as const };
    const [a, b] = await Promise.all([extractFeatures(opts), extractFeatures(opts)]);
    expect(seen).toBe(items.length);
    expect([a.encoded, b.encoded].sort()).toEqual([0, items.length]);
    expect(Array.from(b.features)).toEqual(Array.from(a.features));
  });
});
