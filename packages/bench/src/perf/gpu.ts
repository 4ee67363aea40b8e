/**
 * The GPU kit's measurements (`dampl bench gpu measure`, run by packages/bench/kit/run.sh on the
 * machine with the GPU), on the webgpu backend:
 *
 *   model   a random-weights ViT-B/16 (seeded) written in Hugging Face layout on the spot, with
 *           CLIP's BPE vocabulary as its tokenizer.json, and loaded back through loadClip
 *   images  its image tower at 224 px, images per second at batch 64 and 256
 *   step    the DAMPL training step at Office-Home's shape (65 classes x 2 domains = 130 prompts
 *           through the text tower, M = N = 16, CSC, batch 32 + 32): dampl.fit's own step
 *
 * It also writes the spec of the same shapes for perf/torch_step.py, which times them in PyTorch
 * on CUDA in fp32 and under autocast (bf16, fp16). `--quick` shrinks every shape, for a software
 * adapter (lavapipe runs about 2 GFLOP/s): a test of the kit, not a measurement, and every file
 * it writes says so. gpu-report.ts joins the results.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';
import { describeBackend, gitCommit, selectBackend, type AdapterInfo, type Logger } from '@dampl/runtime';
import {
  CLIP_BPE_VOCAB, createClip, loadClip, randomClipWeights, readBpeVocab, saveClipHf, type ClipConfig, type ClipModel,
} from '@dampl/clip';
import { STEP_SHAPE, VIT_B16, promptLayout, timeDamplStep } from './dampl-step.js';

export const GPU_MEASURE_FILE = 'webgpu.json';
const TORCH_SPEC_FILE = 'torch-spec.json';

/** The shapes measured: ViT-B/16 and Office-Home's step, or the smoke shapes of `--quick`. */
export interface GpuShapes {
  quick: boolean;
  clip: ClipConfig;
  imageBatches: number[];
  imageIterations: number;
  steps: number;
}

/** A small CLIP of the same layout: the kit's smoke test on a software adapter. */
const QUICK_CLIP: ClipConfig = {
  embedDim: 64,
  vision: { kind: 'vit', imageSize: 64, patchSize: 16, width: 64, layers: 2, heads: 2 },
  text: { contextLength: 77, vocabSize: 49408, width: 64, heads: 2, layers: 2 },
};

export function gpuShapes(quick: boolean): GpuShapes {
  return quick
    ? { quick, clip: QUICK_CLIP, imageBatches: [2, 8], imageIterations: 2, steps: 2 }
    : { quick, clip: VIT_B16(77), imageBatches: [64, 256], imageIterations: 5, steps: 5 };
}

export interface ImageTiming {
  batch: number;
  /** Seconds per batch of each timed run, after one untimed run. */
  seconds: number[];
  imagesPerSecond: number | null;
  error?: string;
}

export interface GpuMeasure {
  format: 'dampl-gpu-measure';
  date: string;
  commit: string;
  quick: boolean;
  backend: string;
  adapter?: AdapterInfo;
  model: { layout: 'huggingface'; config: ClipConfig; tokenizer: string; loadSeconds: number };
  images: ImageTiming[];
  step: { shape: typeof STEP_SHAPE; prompts: string; length: number; seconds: number[]; mean: number | null; error?: string };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Writes a random CLIP of `config` in Hugging Face layout into `dir` (weights made on the cpu backend). */
async function writeRandomHfClip(dir: string, config: ClipConfig, seed = 0): Promise<void> {
  const model = await createClip({ config, weights: randomClipWeights(config, seed) });
  try {
    await saveClipHf(dir, model, { vocab: await readBpeVocab(CLIP_BPE_VOCAB), provenance: { random: true, seed } });
  } finally {
    model.dispose();
  }
}

/** Image-tower timings at each batch; a batch that fails (memory, a buffer limit) is recorded, not fatal. */
async function timeImageTower(model: ClipModel, batches: readonly number[], iterations: number, log?: Logger): Promise<ImageTiming[]> {
  const r = model.config.vision.imageSize;
  const out: ImageTiming[] = [];
  for (const batch of batches) {
    const pixels = tf.randomNormal([batch, 3, r, r], 0, 1, 'float32', 1) as tf.Tensor4D;
    const run = async () => {
      const f = model.encodeImage(pixels);
      try {
        await f.data(); // the batch is done when its features are on the host
      } finally {
        f.dispose();
      }
    };
    try {
      await run(); // shader compilation, buffer allocation
      const seconds: number[] = [];
      const bench = new Bench({ name: `images ${batch}`, iterations, time: 0, warmup: false, throws: true });
      bench.add(`batch ${batch}`, async () => {
        const t0 = performance.now();
        await run();
        seconds.push((performance.now() - t0) / 1000);
      });
      await bench.run();
      const ips = batch / median(seconds);
      log?.info(`image tower, batch ${batch}: ${ips.toFixed(1)} images/s (median of ${seconds.length})`);
      out.push({ batch, seconds, imagesPerSecond: ips });
    } catch (e) {
      const error = (e as Error).message.split('\n')[0]!;
      log?.warn(`image tower, batch ${batch}: ${error}`);
      out.push({ batch, seconds: [], imagesPerSecond: null, error });
    } finally {
      pixels.dispose();
    }
  }
  return out;
}

/** Runs the measurements on webgpu; writes `<out>/webgpu.json` and `<out>/torch-spec.json`. */
export async function measureGpu(o: { out: string; quick: boolean; log: Logger }): Promise<GpuMeasure> {
  const shapes = gpuShapes(o.quick);
  await mkdir(o.out, { recursive: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dampl-random-clip-'));
  try {
    await selectBackend('cpu');
    o.log.info(`writing a random ${o.quick ? 'smoke-size' : 'ViT-B/16'} CLIP in Hugging Face layout to ${dir}`);
    await writeRandomHfClip(dir, shapes.clip);
    const backend = await selectBackend('webgpu');
    o.log.info(`backend ${describeBackend(backend)}`);
    const t0 = performance.now();
    const model = await loadClip(dir);
    const loadSeconds = (performance.now() - t0) / 1000;
    try {
      const images = await timeImageTower(model, shapes.imageBatches, shapes.imageIterations, o.log);
      const layout = promptLayout(model);
      const { width, layers, heads } = shapes.clip.text;
      const shape = { ...STEP_SHAPE, width, layers, heads };
      let step: GpuMeasure['step'];
      try {
        const r = await timeDamplStep(model, shapes.steps);
        o.log.info(`DAMPL step: ${r.seconds.toFixed(3)} s (${r.layout})`);
        step = { shape, prompts: r.layout ?? '', length: layout.length, seconds: r.stepSeconds.slice(1), mean: r.seconds };
      } catch (e) {
        const error = (e as Error).message.split('\n')[0]!;
        o.log.warn(`DAMPL step: ${error}`);
        step = { shape, prompts: '', length: layout.length, seconds: [], mean: null, error };
      }
      const measure: GpuMeasure = {
        format: 'dampl-gpu-measure', date: new Date().toISOString(), commit: gitCommit(), quick: o.quick,
        backend: describeBackend(backend), adapter: backend.adapter,
        model: { layout: 'huggingface', config: shapes.clip, tokenizer: "CLIP's BPE vocabulary (tokenizer.json)", loadSeconds },
        images, step,
      };
      await writeFile(path.join(o.out, GPU_MEASURE_FILE), JSON.stringify(measure, null, 2) + '\n');
      await writeFile(path.join(o.out, TORCH_SPEC_FILE), JSON.stringify(torchSpec(shapes, layout.eot, layout.length), null, 2) + '\n');
      return measure;
    } finally {
      model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The same shapes for perf/torch_step.py: the step at the full context length (as DAPL's trainer
 * runs it) and at the project's cut after EOT, the image tower at each batch, in fp32, bf16, fp16.
 */
export function torchSpec(s: GpuShapes, eot: number[], cut: number): Record<string, unknown> {
  const v = s.clip.vision as { imageSize: number; patchSize: number; width: number; layers: number; heads: number };
  return {
    device: 'auto', precisions: ['fp32', 'bf16', 'fp16'], threads: os.cpus().length,
    steps: s.steps, image_iterations: s.imageIterations, image_batch: s.imageBatches[0], image_batches: s.imageBatches,
    context_lengths: [s.clip.text.contextLength, cut],
    classes: STEP_SHAPE.classes, domains: STEP_SHAPE.domains, n_ctx: STEP_SHAPE.nCtx, n_dctx: STEP_SHAPE.nDomainCtx,
    batch_source: STEP_SHAPE.batchSource, batch_target: STEP_SHAPE.batchTarget, eot,
    width: s.clip.text.width, layers: s.clip.text.layers, heads: s.clip.text.heads, embed_dim: s.clip.embedDim,
    vision: { image_size: v.imageSize, patch_size: v.patchSize, width: v.width, layers: v.layers, heads: v.heads },
  };
}
