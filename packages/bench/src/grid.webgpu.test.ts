/**
 * The GPU route, on whatever webgpu adapter Dawn finds (on CI: Mesa's lavapipe, a Vulkan driver
 * on the CPU): `nx run bench:test:webgpu` (DAMPL_TEST=webgpu).
 *
 * 1. Every registered method on two synthetic tasks, run on webgpu into an empty results folder
 *    (features extracted on webgpu too), beside the same grid and seed on wasm: each method's
 *    accuracy within 1 point on each task, and zero-shot CLIP's predictions identical but for
 *    near-ties (a logit margin under 1e-4 on either side). Both sides run the same shortened
 *    schedule (lavapipe runs a kernel in about a millisecond).
 * 2. GPU memory stays flat: over 20 DAMPL steps, tf.memory()'s tensors and bytes do not grow; each
 *    step reads the device once (its losses; the epoch's pseudo-labels are one more read) and
 *    uploads no feature or text-feature rows: those stay on the device.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, readSafetensors, selectBackend, toFloat32, type BackendReport } from '@dampl/runtime';
import { dampl, fitMethod, listMethods, methodDefaults, zeroShotTextFeatures, type DamplConfig } from '@dampl/core';
import { makeToyProblem } from '@dampl/core/testing';
import { SYNTH_CLASSES } from '@dampl/synth';
import { loadClip, type ClipModel } from '@dampl/clip';
import { loadMethods } from './plugins.js';
import { recordPredictions, readRecords, type RunRecord } from './records.js';
import { runSuite } from './runner.js';
import { SUITES, SYNTH_CLIP_DIR } from './suites.js';

const TASKS = ['cl-pa', 'ph-sk'];

/** The same short schedule on both backends (synth defaults otherwise). */
export const SHORT_SCHEDULE: Record<string, Record<string, unknown>> = {
  dampl: { epochs: 4 },
  dapl: { epochs: 4 },
  coop: { epochs: 3 },
  'source-only': { epochs: 2 },
  dann: { epochs: 2 },
  dan: { epochs: 2 },
  cdan: { epochs: 2 },
  mcc: { epochs: 2 },
  'shot-im': { sourceEpochs: 5, epochs: 4 },
};

let tmp: string;
const log = createLogger({ level: 'warn' });

beforeAll(async () => {
  await loadMethods(); // every method package of the workspace, as the bench loads them
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-webgpu-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function grid(backend: BackendReport, name: string): Promise<Map<string, RunRecord>> {
  const r = await runSuite({
    suite: SUITES.synth!, resultsDir: path.join(tmp, name), cacheDir: path.join(tmp, `cache-${name}`),
    tasks: TASKS, seeds: [1], overrides: SHORT_SCHEDULE, backend, log, print: () => {},
  });
  expect(r.finished).toEqual([]); // an empty folder: every cell computed here
  expect(r.outcomes.filter((o) => o.error)).toEqual([]);
  const byCell = new Map<string, RunRecord>();
  for (const rec of (await readRecords(r.outDir)).values()) byCell.set(`${rec.method} ${rec.task}`, rec);
  return byCell;
}

/** Test features of `task`'s target as extracted into `cacheDir`, in the records' row order. */
async function testFeatures(cacheDir: string, domain: string): Promise<{ data: Float32Array; rows: number; dim: number }> {
  const dir = path.join(cacheDir, 'synth', domain);
  const [sub] = readdirSync(dir);
  const { tensors } = await readSafetensors(path.join(dir, sub!, 'features.safetensors'));
  const f = tensors.get('features')!;
  return { data: toFloat32(f), rows: f.shape[0]!, dim: f.shape[1]! };
}

/** logit_top1 - logit_top2 of zero-shot CLIP ("a photo of a {class}.") per row, on the active backend. */
async function zeroShotMargins(clip: ClipModel, f: { data: Float32Array; rows: number; dim: number }, templates: string[]): Promise<Float32Array> {
  const text = zeroShotTextFeatures(clip, SYNTH_CLASSES.map((c) => c.name), templates);
  const top = tf.tidy(() => {
    const x = tf.tensor2d(f.data, [f.rows, f.dim]);
    const logits = tf.mul(tf.matMul(tf.div(x, tf.norm(x, 'euclidean', 1, true)), text, false, true), clip.logitScale);
    const { values } = tf.topk(logits, 2);
    return tf.sub(tf.slice(values, [0, 0], [-1, 1]), tf.slice(values, [0, 1], [-1, 1]));
  });
  text.dispose();
  const m = (await top.data()) as Float32Array;
  top.dispose();
  return m;
}

describe('the synthetic grid on webgpu beside wasm', () => {
  it('every method within 1 point of wasm on each task, zero-shot predictions identical but for near-ties', async () => {
    const gpu = await selectBackend('webgpu');
    expect(gpu.name).toBe('webgpu');
    const onGpu = await grid(gpu, 'webgpu');
    const onWasm = await grid(await selectBackend('wasm'), 'wasm');
    const methods = listMethods().map((m) => m.name);
    expect(methods.length).toBeGreaterThanOrEqual(12);
    expect([...onGpu.keys()].sort()).toEqual(methods.flatMap((m) => TASKS.map((t) => `${m} ${t}`)).sort());
    const table: string[] = [];
    for (const [cell, g] of onGpu) {
      const w = onWasm.get(cell)!;
      expect(g.provenance.backendName).toBe('webgpu');
      expect(w.provenance.backendName).toBe('wasm');
      expect(g.key).not.toBe(w.key);
      table.push(`${cell.padEnd(28)} webgpu ${(100 * g.result.value).toFixed(2)}  wasm ${(100 * w.result.value).toFixed(2)}`);
      expect(Math.abs(g.result.value - w.result.value), cell).toBeLessThanOrEqual(0.01);
    }
    console.log(table.join('\n'));

    // zero-shot: a prediction may differ only where the top two logits are within 1e-4
    const clip = await loadClip(SYNTH_CLIP_DIR);
    try {
      for (const method of ['zero-shot', 'zero-shot-ensemble']) {
        for (const task of TASKS) {
          const target = { cl: 'clipart', pa: 'painting', ph: 'photo', sk: 'sketch' }[task.split('-')[1] as 'pa']!;
          const g = recordPredictions(onGpu.get(`${method} ${task}`)!).predicted;
          const w = recordPredictions(onWasm.get(`${method} ${task}`)!).predicted;
          const templates = (onWasm.get(`${method} ${task}`)!.config as { templates: string[] }).templates;
          const mg = await zeroShotMargins(clip, await testFeatures(path.join(tmp, 'cache-webgpu'), target), templates);
          const mw = await zeroShotMargins(clip, await testFeatures(path.join(tmp, 'cache-wasm'), target), templates);
          const differ = [...g.keys()].filter((i) => g[i] !== w[i]);
          for (const i of differ) expect(Math.min(mg[i]!, mw[i]!), `${method} ${task} row ${i}`).toBeLessThan(1e-4);
          expect(differ.length).toBeLessThanOrEqual(2);
        }
      }
    } finally {
      clip.dispose();
    }
  }, 600_000);
});

describe('GPU memory over DAMPL training steps on webgpu', () => {
  it('keeps tensors and bytes flat for 20 steps, reads the device once a step and uploads no feature rows', async () => {
    await selectBackend('webgpu');
    const clip = await loadClip(SYNTH_CLIP_DIR);
    const backend = tf.backend() as unknown as { read(id: unknown): Promise<unknown>; write(values: ArrayLike<number>, shape: number[], dtype: string): unknown };
    const [read, write] = [backend.read, backend.write];
    let reads = 0;
    let written = 0;
    let rows: number[][] = []; // shapes of uploads of non-constant [n, E] arrays: feature or text-feature rows
    try {
      const toy = await makeToyProblem(clip, { classNames: SYNTH_CLASSES.map((c) => c.name), perClassSource: 8, perClassTarget: 8 });
      const config: DamplConfig = { ...methodDefaults(dampl, 'synth'), zeroShotTemplates: ['a photo of a {class}.'], epochs: 10, maxSteps: 21 };
      const perStep: { numTensors: number; numBytes: number; gpu: number; reads: number; bytes: number; rows: number[][] }[] = [];
      backend.read = function (this: unknown, id: unknown) { reads++; return read.call(this, id); };
      backend.write = function (this: unknown, values: ArrayLike<number>, shape: number[], dtype: string) {
        if (values) { // an upload (outputs are allocated with none)
          written += (values as { byteLength?: number }).byteLength ?? 4 * values.length;
          const v = values as ArrayLike<number>;
          const constant = Array.prototype.every.call(v, (x: number) => x === v[0]);
          if (shape.length >= 2 && shape.at(-1) === clip.config.embedDim && !constant) rows.push([...shape]);
        }
        return write.call(this, values, shape, dtype);
      };
      const result = await fitMethod(dampl, {
        source: toy.source, sourceLabels: toy.sourceLabels, target: toy.target, classNames: toy.classNames,
        domainNames: toy.domainNames, clip, config, seed: 1,
        onStep: () => {
          const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
          perStep.push({ numTensors: m.numTensors, numBytes: m.numBytes, gpu: m.numBytesInGPU ?? 0, reads, bytes: written, rows });
          reads = 0;
          written = 0;
          rows = [];
        },
      });
      result.dispose();
      expect(perStep).toHaveLength(21);
      const steady = perStep.slice(1); // 20 steps after the first
      for (const k of ['numTensors', 'numBytes', 'gpu'] as const) expect(new Set(steady.map((s) => s[k])).size, k).toBe(1);
      // batches of 32 from 96 rows: 3 steps an epoch; an epoch's pseudo-labels are one more read
      const newEpoch = (step: number) => (step - 1) % 3 === 0;
      steady.forEach((s, i) => expect(s.reads, `step ${i + 2}`).toBe(newEpoch(i + 2) ? 2 : 1));
      // the features stay on the device: no feature or text-feature rows [n, E] are uploaded, only
      // batch indices, labels, scalars, masks and the constant ones some tfjs gradients make
      for (const s of steady) {
        expect(s.rows).toEqual([]);
        expect(s.bytes).toBeLessThan(64 * 1024);
      }
      console.log(`per step: ${steady[0]!.bytes} bytes uploaded; ${steady[0]!.numTensors} tensors, ${steady[0]!.numBytes} bytes held`);
    } finally {
      backend.read = read;
      backend.write = write;
      clip.dispose();
    }
  }, 300_000);
});
