import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel } from '@dampl/clip';
import { selectBackend } from '@dampl/runtime';
import { serveHubMirror } from './hub.js';
import { peakRss, stage } from './measure.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rehearsal-hub-'));
  await selectBackend('cpu');
});
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('hub mirror', () => {
  it("serves a model folder at <endpoint>/<id>/resolve/main/<file>, which the hub download path fetches into the cache", async () => {
    const dir = path.join(tmp, 'model');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), '{"a":1}');
    await writeFile(path.join(dir, 'model.safetensors'), Buffer.alloc(1000, 7));
    const mirror = await serveHubMirror('org/name', dir, 'b'.repeat(40));
    try {
      expect(mirror.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const snap = await downloadModel('org/name', { endpoint: mirror.endpoint, hubCacheDir: path.join(tmp, 'hub') });
      expect(snap).toBe(path.join(tmp, 'hub', 'models--org--name', 'snapshots', 'b'.repeat(40)));
      expect(await readFile(path.join(snap, 'model.safetensors'))).toEqual(Buffer.alloc(1000, 7));
      expect(mirror.served.map((s) => s.file)).toEqual(['config.json', 'model.safetensors']);
      expect((await fetch(`${mirror.endpoint}/org/other/resolve/main/config.json`)).status).toBe(404);
    } finally {
      await mirror.close();
    }
  });
});

const statusBytes = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** Touches `mib` MiB in a worker thread; its memory goes back when the worker ends. */
async function peakInWorker(mib: number): Promise<void> {
  const w = new Worker(`const b = Buffer.alloc(${mib} * 2 ** 20, 1); require('node:worker_threads').parentPort.postMessage(b[7]);`, { eval: true });
  await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await w.terminate();
}

describe.runIf(existsSync('/proc/self/clear_refs'))('stage measurements', () => {
  it("resets the peak resident set at a stage's start, so a stage reports its own peak", async () => {
    await peakInWorker(400);
    // the process's peak is now far above what it holds
    expect(statusBytes('VmHWM') - statusBytes('VmRSS')).toBeGreaterThan(200 * 2 ** 20);
    const quiet = await stage('quiet', async () => 0);
    expect(quiet.record.peakRssScope).toBe('stage');
    expect(quiet.record.peakRssBytes - statusBytes('VmRSS')).toBeLessThan(100 * 2 ** 20);
    const busy = await stage('busy', () => peakInWorker(400));
    expect(busy.record.peakRssBytes - quiet.record.peakRssBytes).toBeGreaterThan(300 * 2 ** 20);
    expect(peakRss()).toBeGreaterThanOrEqual(statusBytes('VmRSS'));
  });
});
