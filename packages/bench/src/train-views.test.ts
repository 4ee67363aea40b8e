import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@dampl/baselines';
import { createLogger, selectBackend, type BackendReport } from '@dampl/runtime';
import type { RunRecord } from './records.js';
import { runSuite, type RunOptions } from './runner.js';
import { registerTinyDataset, writeRandomClip, writeTinyImages } from './testing.js';

const DOMAINS = ['one', 'two'];
const CLASSES = ['red', 'green', 'blue'];
registerTinyDataset('views-tiny', DOMAINS, CLASSES);

let tmp: string;
let model: string;
let data: string;
let backend: BackendReport;
const log = createLogger({ level: 'warn', sink: () => {} });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-views-'));
  model = await writeRandomClip(path.join(tmp, 'clip'));
  data = path.join(tmp, 'data');
  await writeTinyImages(data, DOMAINS, CLASSES, 4);
  backend = await selectBackend('cpu');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const options = (results: string, views: string): RunOptions => ({
  suite: { name: 'tiny', model, seeds: [1], datasets: [{ dataset: 'views-tiny', root: data }] },
  resultsDir: results, cacheDir: path.join(tmp, 'cache'), methods: ['dapl'], tasks: undefined, backend, log, print: () => {},
  overrides: { dapl: { views, epochs: 2, nCtx: 2, nDomainCtx: 2, batchSource: 4, batchTarget: 4 } },
});

const recordsIn = (dir: string): RunRecord[] => {
  const out: RunRecord[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json') && p.includes(`${path.sep}runs${path.sep}`)) out.push(JSON.parse(readFileSync(p, 'utf8')) as RunRecord);
    }
  };
  walk(dir);
  return out;
};

describe('dapl.views=4 on a tiny dataset', () => {
  it('records four cached views per cell and what encoding them cost; views 0 records none', async () => {
    const r4 = path.join(tmp, 'results-4');
    await runSuite(options(r4, '4'));
    const records = recordsIn(r4);
    expect(records.length).toBeGreaterThan(0);
    const images = 4 * CLASSES.length; // per domain
    for (const rec of records) {
      expect(rec.views).toMatchObject({ mode: 'cached', k: 4, images: 4 * (rec.data.source.images + rec.data.target.images) });
      expect(rec.data.source.images).toBe(images);
      expect(rec.views!.seconds).toBeGreaterThan(0);
      expect((rec.config as { views: string }).views).toBe('4');
    }
    // every view of both domains was encoded once in all, by the first cells that needed it
    expect(records.reduce((n, r) => n + r.views!.encoded, 0)).toBeGreaterThanOrEqual(4 * 2 * images);

    const r0 = path.join(tmp, 'results-0');
    await runSuite(options(r0, '0'));
    for (const rec of recordsIn(r0)) expect(rec.views).toBeUndefined();
  });
});

describe('dapl.views=online on a tiny dataset', () => {
  it('encodes a fresh augmentation of both domains each epoch, seeded by the run, and records it', async () => {
    const r = path.join(tmp, 'results-online');
    await runSuite(options(r, 'online'));
    const records = recordsIn(r);
    expect(records.length).toBe(2);
    for (const rec of records) {
      // 2 epochs, each a view of the source and of the target training images
      expect(rec.views).toMatchObject({ mode: 'online', k: 2, images: 2 * (rec.data.source.images + rec.data.target.images) });
      expect(rec.views!.seconds).toBeGreaterThan(0);
    }
    // the two tasks' cells share their domains' epoch views: encoded once between them
    expect(records.reduce((n, x) => n + x.views!.encoded, 0)).toBe(2 * 2 * 4 * CLASSES.length);
  });
});

