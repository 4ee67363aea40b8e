/**
 * Every registered method runs through the bench with the synchronous tensor reads switched off.
 *
 * The webgpu backend cannot read a tensor synchronously in Node (`dataSync`, `arraySync` and
 * `bufferSync` throw there), so model code reads with `await t.data()`. Here the three methods of
 * tf.Tensor (tf.Variable inherits them) throw on any backend, and the whole grid of one small
 * synthetic task runs under that guard: feature extraction, every method's training, prediction and
 * state, the records and the tables. A synchronous read anywhere on that path fails the test. The
 * cpu backend's own kernels read through the backend, not these methods, so they are unaffected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, selectBackend, type BackendReport } from '@dampl/runtime';
import { listMethods } from '@dampl/core';
import { generateSynthWorld } from '@dampl/synth';
import { loadMethods } from './plugins.js';
import { readRecords } from './records.js';
import { runSuite } from './runner.js';
import { SYNTH_CLIP_DIR } from './suites.js';

const GUARDED = ['dataSync', 'arraySync', 'bufferSync'] as const;
type Guarded = (typeof GUARDED)[number];

/** Makes the synchronous reads of every tensor throw, naming the method; returns the undo. */
function forbidSyncReads(): () => void {
  const proto = tf.Tensor.prototype as unknown as Record<Guarded, unknown>;
  const saved = GUARDED.map((k) => [k, proto[k]] as const);
  for (const k of GUARDED) {
    proto[k] = function forbidden(): never {
      throw new Error(`synchronous tensor read ${k}() (it throws on the webgpu backend): read with await t.data()`);
    };
  }
  return () => { for (const [k, f] of saved) proto[k] = f; };
}

let tmp: string;
let backend: BackendReport;
let restore: () => void;

beforeAll(async () => {
  await loadMethods(); // every method package of the workspace, as the bench loads them
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-no-sync-'));
  // a small world: 6 images per class and domain, 72 per domain
  await generateSynthWorld({ root: path.join(tmp, 'world'), perClass: 6, split: 'adapt' });
  backend = await selectBackend('wasm');
  restore = forbidSyncReads();
});

afterAll(async () => {
  restore?.();
  await rm(tmp, { recursive: true, force: true });
});

describe('with dataSync, arraySync and bufferSync throwing', () => {
  it('the guard itself throws on a synchronous read and not on an awaited one', async () => {
    const t = tf.tensor1d([1, 2, 3]);
    expect(() => t.dataSync()).toThrow(/synchronous tensor read dataSync\(\)/);
    expect(() => t.arraySync()).toThrow(/arraySync/);
    expect(() => t.bufferSync()).toThrow(/bufferSync/);
    expect(Array.from(await t.data())).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('every registered method finishes its cell of a synthetic task', async () => {
    const methods = listMethods().map((m) => m.name);
    expect(methods.length).toBeGreaterThanOrEqual(12);
    const lines: string[] = [];
    const r = await runSuite({
      suite: { name: 'guard', model: SYNTH_CLIP_DIR, seeds: [1], datasets: [{ dataset: 'synth', root: path.join(tmp, 'world') }] },
      resultsDir: path.join(tmp, 'results'), cacheDir: path.join(tmp, 'cache'), tasks: ['ph-sk'], methods,
      backend, log: createLogger({ level: 'warn', sink: (l) => lines.push(l) }), print: () => {},
    });
    expect(r.outcomes.filter((o) => o.error)).toEqual([]);
    const records = [...(await readRecords(r.outDir)).values()];
    expect(records.map((x) => x.method).sort()).toEqual([...methods].sort());
    for (const rec of records) expect(rec.result.value).toBeGreaterThan(1 / 12);
  }, 240_000);
});
