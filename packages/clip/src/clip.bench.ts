/**
 * CLIP throughput per backend, with random weights of ViT-B/16 shape:
 *   - image tower: images/s at 224 px, batch 8 (forward only, as feature extraction runs it);
 *   - text tower (width 512, 12 layers, 8 heads): seconds per forward + backward with respect to
 *     the prompt embeddings for 130 prompts (the prompt-learning step), at the full context of 77
 *     and cut after the last EOT (DAPL-style prompts: SOT + 16 + 16 context vectors + class words + . + EOT).
 * Prints a table and writes results/perf/clip.json with the machine, backend and date.
 *
 *   nx run clip:bench                      all available backends
 *   tsx src/clip.bench.ts --backends wasm  some of them
 *
 * The plain-JavaScript cpu backend is about two orders of magnitude slower than wasm: it runs one
 * image at batch 1 once and skips the text tower (a single step would take many minutes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';
import { blasName, gitCommit, machineRecord, selectBackend, workspaceRoot, type BackendName } from '@dampl/runtime';
import { createClip, randomClipWeights } from './model.js';
import type { ClipConfig, ClipModel } from './types.js';

const VIT_B16: ClipConfig = {
  embedDim: 512,
  vision: { kind: 'vit', imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 },
  text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
};
const PROMPTS = 130;
/**
 * Prompts per backward pass: on wasm a ViT-B/16 text backward at L = 77 peaks at about 130 MB of
 * heap per prompt, and wasm memory stops at 4 GB.
 */
const PROMPT_CHUNK = 10;
/** SOT + 16 + 16 context vectors + up to 4 class tokens + '.' + EOT. */
const CUT_LENGTH = 39;

interface Plan {
  imageBatch: number;
  imageIterations: number;
  textIterations: number;
  /** Why the text tower is skipped on this backend, if it is. */
  skipText?: string;
  /** One untimed small call first (kernel setup, XNNPACK weight packing, heap growth). */
  warmup: boolean;
}

const PLANS: Record<BackendName, Plan> = {
  tensorflow: { imageBatch: 8, imageIterations: 5, textIterations: 3, warmup: true },
  webgpu: { imageBatch: 8, imageIterations: 5, textIterations: 3, warmup: true },
  wasm: { imageBatch: 8, imageIterations: 2, textIterations: 1, warmup: true },
  cpu: {
    imageBatch: 1, imageIterations: 1, textIterations: 0, warmup: false,
    skipText: 'plain-JavaScript kernels: one 130-prompt step would take many minutes',
  },
};

export interface BenchRow {
  backend: string;
  device: string;
  task: string;
  iterations: number;
  /** Mean seconds per iteration. */
  seconds: number;
  /** Images per second for the image tower. */
  imagesPerSecond?: number;
  note?: string;
}

async function runBackend(name: BackendName, log: (s: string) => void): Promise<BenchRow[]> {
  let device: string;
  try {
    const r = await selectBackend(name);
    device = r.native ? `${r.device} + ${blasName(r.native)}` : r.device;
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0]!;
    log(`${name}: skipped (${reason})`);
    return [{ backend: name, device: '-', task: 'all', iterations: 0, seconds: NaN, note: `unavailable: ${reason}` }];
  }
  const plan = PLANS[name];
  log(`${name}: ${device}; building ViT-B/16 with random weights`);
  const model: ClipModel = await createClip({ config: VIT_B16, weights: randomClipWeights(VIT_B16, 0) });
  const rows: BenchRow[] = [];

  const r = VIT_B16.vision.imageSize;
  const pixels = tf.randomNormal([plan.imageBatch, 3, r, r], 0, 1, 'float32', 1) as tf.Tensor4D;
  const probe = tf.randomNormal([PROMPTS, VIT_B16.embedDim], 0, 1, 'float32', 2);
  const emb77 = tf.randomNormal([PROMPTS, 77, VIT_B16.text.width], 0, 0.02, 'float32', 3) as tf.Tensor3D;
  const embCut = tf.slice(emb77, [0, 0, 0], [PROMPTS, CUT_LENGTH, VIT_B16.text.width]) as tf.Tensor3D;
  const eot = Array.from({ length: PROMPTS }, (_, i) => CUT_LENGTH - 1 - (i % 4));
  // d sum(features * probe) / d embeddings, in chunks of prompts: the gradient of a sum over
  // prompts splits by prompt, and one 130 x 77 backward pass would not fit in wasm's 4 GB.
  const step = (emb: tf.Tensor3D) => async () => {
    for (let start = 0; start < PROMPTS; start += PROMPT_CHUNK) {
      const n = Math.min(PROMPT_CHUNK, PROMPTS - start);
      const g = tf.tidy(() => {
        const e = tf.slice(emb, [start, 0, 0], [n, -1, -1]);
        const p = tf.slice(probe, [start, 0], [n, -1]);
        const ids = eot.slice(start, start + n);
        return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.encodeTextFromEmbeddings(x as tf.Tensor3D, ids), p)))(e);
      });
      await g.data();
      g.dispose();
    }
  };
  const encode = (x: tf.Tensor4D) => async () => {
    const f = model.encodeImage(x);
    await f.data();
    f.dispose();
  };
  const tasks: { task: string; iterations: number; fn: () => Promise<void>; warm: () => Promise<void>; images?: number }[] = [
    {
      task: `image tower 224px, batch ${plan.imageBatch}`,
      iterations: plan.imageIterations,
      images: plan.imageBatch,
      fn: encode(pixels),
      warm: async () => {
        const one = tf.slice(pixels, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        await encode(one)();
        one.dispose();
      },
    },
  ];
  if (plan.textIterations > 0) {
    const warm = async () => {
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(model.encodeTextFromEmbeddings(x as tf.Tensor3D, [5])))(tf.slice(embCut, [0, 0, 0], [1, -1, -1])));
      await g.data();
      g.dispose();
    };
    tasks.push(
      { task: `text fwd+bwd ${PROMPTS} prompts x 77`, iterations: plan.textIterations, fn: step(emb77), warm },
      { task: `text fwd+bwd ${PROMPTS} prompts x ${CUT_LENGTH} (cut after EOT)`, iterations: plan.textIterations, fn: step(embCut), warm },
    );
  }
  try {
    for (const t of tasks) {
      log(`${name}: ${t.task} ...`);
      if (plan.warmup) await t.warm();
      const bench = new Bench({ name: `clip ${name}`, iterations: t.iterations, time: 0, warmup: false, throws: true });
      bench.add(t.task, t.fn);
      await bench.run();
      const res = bench.tasks[0]!.result;
      const seconds = 'latency' in res ? res.latency.mean / 1000 : NaN;
      rows.push({
        backend: name, device, task: t.task, iterations: t.iterations, seconds,
        imagesPerSecond: t.images ? t.images / seconds : undefined,
      });
      log(`${name}: ${t.task}: ${seconds.toFixed(3)} s/iter`);
    }
    if (plan.skipText) {
      rows.push({ backend: name, device, task: `text fwd+bwd ${PROMPTS} prompts`, iterations: 0, seconds: NaN, note: `skipped: ${plan.skipText}` });
      log(`${name}: text tower skipped (${plan.skipText})`);
    }
  } finally {
    tf.dispose([pixels, probe, emb77, embCut]);
    model.dispose();
  }
  return rows;
}

function table(rows: BenchRow[]): string {
  const head = ['backend', 'task', 'iters', 's/iter', 'images/s', 'note'];
  const body = rows.map((r) => [
    r.backend, r.task, String(r.iterations),
    Number.isFinite(r.seconds) ? r.seconds.toFixed(3) : '-',
    r.imagesPerSecond ? r.imagesPerSecond.toPrecision(3) : '-',
    (r.note ?? '').length > 90 ? `${r.note!.slice(0, 87)}...` : r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export async function runClipBench(backends: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'], out = path.join(workspaceRoot, 'results/perf/clip.json')): Promise<BenchRow[]> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rows: BenchRow[] = [];
  for (const b of backends) rows.push(...(await runBackend(b, log)));
  console.log(table(rows));
  const record = {
    suite: 'clip',
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineRecord(),
    model: { shape: 'ViT-B/16 (random weights, seed 0)', config: VIT_B16, prompts: PROMPTS, promptChunk: PROMPT_CHUNK, cutLength: CUT_LENGTH },
    results: rows.map((r) => ({ ...r, seconds: Number.isFinite(r.seconds) ? r.seconds : null })),
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
  log(`wrote ${out}`);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--backends');
  const backends = i > 0 ? (process.argv[i + 1] ?? '').split(',').filter(Boolean) as BackendName[] : undefined;
  await runClipBench(backends);
}
