/**
 * The DAMPL training step and CLIP image-feature extraction at real scale, timed with tinybench:
 *
 *   step     one DAMPL training step (dampl.fit's own step: prompts -> text tower forward and
 *            backward -> losses -> optimizer update) with ViT-B/16's text tower (width 512,
 *            12 layers, 8 heads) for Office-Home's 65 classes x 2 domains = 130 prompts, 16 + 16
 *            context vectors (DAPL ep25-32-csc), batches of 32 source + 32 target features, at
 *            context lengths 77 and 45;
 *   extract  ViT-B/16 image features at 224 px, batches of 32 and 64 (images/s), and RN50's at
 *            224 px, batch 32.
 *
 * Random weights (seeded): speed does not depend on their values. The tokenizer is a BPE learnt on
 * the class names, so each word is one token as in CLIP's vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';
import { createClip, randomClipWeights, resnetBlocks, trainBpe, BpeTokenizer, type ClipConfig, type ClipModel } from '@dampl/clip';
import { dampl, methodDefaults, PromptLearner, type DamplConfig } from '@dampl/core';
import { Rng } from '@dampl/runtime';
import { OFFICE_HOME_CLASSES } from '@dampl/data';

export const VIT_B16 = (contextLength = 77): ClipConfig => ({
  embedDim: 512,
  vision: { kind: 'vit', imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 },
  text: { contextLength, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
});

/** CLIP RN50 (clip/model.py's ModifiedResNet: layers 3, 4, 6, 3, width 64, 32 attention-pool heads, E = 1024). */
export const RN50 = (): ClipConfig => ({
  embedDim: 1024,
  vision: { kind: 'resnet', imageSize: 224, width: 64, layers: [3, 4, 6, 3], heads: 32 },
  text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
});

export const STEP_SHAPE = { classes: OFFICE_HOME_CLASSES.length, domains: 2, nCtx: 16, nDomainCtx: 16, batchSource: 32, batchTarget: 32, width: 512, layers: 12, heads: 8 };
const IMAGE_BATCH = 32;
/** The image batches the CPU suite times (Office-Home-scale extraction runs at batch 32 or 64). */
export const IMAGE_BATCHES = [32, 64];

export interface TimedRow {
  task: string;
  /** Mean seconds per iteration (per step, or per image batch). */
  seconds: number;
  iterations: number;
  imagesPerSecond?: number;
  /** How the prompts were laid out: the cut and the shared first tokens. */
  layout?: string;
}

function shapeTokenizer(): BpeTokenizer {
  const words = OFFICE_HOME_CLASSES.map((c) => c.replace(/_/g, ' ').toLowerCase());
  return new BpeTokenizer(trainBpe([...words, ...words, 'a photo of a.', 'a photo of a.', 'art clipart product real world.', 'art clipart product real world.'], { minCount: 2 }), 'class-name bpe');
}

export async function shapeModel(contextLength: number, tokenizer = shapeTokenizer(), config = VIT_B16(contextLength)): Promise<ClipModel> {
  return await createClip({ config, weights: randomClipWeights(config, 0), tokenizer });
}

const features = (rows: number, seed: number, dim: number) => ({ rows, dim, data: new Rng(seed).normalArray(rows * dim) });

/**
 * EOT position of each of the step's prompts (domain-major), the prompt length after the cut, and
 * the first tokens the prompts share by group (computed once per group by the text tower).
 */
export function promptLayout(model: ClipModel, config: DamplConfig = methodDefaults(dampl, 'office-home')): { eot: number[]; length: number; shared?: { groups: number; prefix: number } } {
  const learner = new PromptLearner(model, [...OFFICE_HOME_CLASSES], ['Art', 'Clipart'], config, new Rng(0));
  try {
    const share = learner.sharing(2);
    return { eot: [...learner.eot], length: learner.L, shared: share && { groups: share.groups, prefix: share.prefix } };
  } finally {
    learner.dispose();
  }
}

const describeLayout = (l: ReturnType<typeof promptLayout>): string => `cut after EOT at ${l.length}` + (l.shared
  ? `; first ${l.shared.prefix} tokens once per group of ${l.eot.length / l.shared.groups} prompts` : '');

/** Seconds per DAMPL step: `steps` timed steps after one untimed step, through dampl.fit. */
export async function timeDamplStep(model: ClipModel, steps: number, extra: Partial<DamplConfig> = {}): Promise<TimedRow & { stepSeconds: number[] }> {
  const K = STEP_SHAPE.classes;
  // one epoch long enough for all the steps: (steps + 1) source batches
  const rows = STEP_SHAPE.batchSource * (steps + 1);
  const labels = Int32Array.from({ length: rows }, (_, i) => i % K);
  const config: DamplConfig = { ...methodDefaults(dampl, 'office-home'), epochs: 1, maxSteps: steps + 1, warmupEpochs: 0, ...extra };
  const times: number[] = [];
  let last = performance.now();
  const bench = new Bench({ name: 'dampl step', iterations: 1, time: 0, warmup: false, throws: true });
  bench.add('dampl.fit', async () => {
    const r = await dampl.fit({
      source: features(rows, 1, model.config.embedDim), sourceLabels: labels, target: features(rows, 2, model.config.embedDim),
      classNames: [...OFFICE_HOME_CLASSES], domainNames: ['Art', 'Clipart'], clip: model, config, seed: 1,
      onStep: () => {
        const now = performance.now();
        times.push((now - last) / 1000);
        last = now;
      },
    });
    r.dispose();
  });
  last = performance.now();
  await bench.run();
  const timed = times.slice(1);
  return {
    task: 'dampl step', seconds: timed.reduce((a, b) => a + b, 0) / timed.length, iterations: timed.length,
    stepSeconds: times, layout: describeLayout(promptLayout(model, config)),
  };
}

/**
 * Seconds per batch of `batch` images through the ViT-B/16 image tower at 224 px: the mean of
 * `iterations` timed batches, after one untimed batch when `warm` (kernel setup, heap growth).
 */
export async function timeExtraction(model: ClipModel, iterations: number, batch = IMAGE_BATCH, warm = true): Promise<TimedRow> {
  const r = model.config.vision.imageSize;
  const pixels = tf.randomNormal([batch, 3, r, r], 0, 1, 'float32', 1) as tf.Tensor4D;
  const run = async () => {
    const f = model.encodeImage(pixels);
    await f.data();
    f.dispose();
  };
  try {
    if (warm) await run();
    const bench = new Bench({ name: 'extract', iterations, time: 0, warmup: false, throws: true });
    bench.add('extract', run);
    await bench.run();
    const res = bench.tasks[0]!.result;
    const seconds = 'latency' in res ? res.latency.mean / 1000 : NaN;
    return { task: `image features 224px, batch ${batch}`, seconds, iterations, imagesPerSecond: batch / seconds };
  } finally {
    pixels.dispose();
  }
}

/**
 * Floating-point operations (2 per multiply-add) of the ViT image tower per image: the patch
 * product, and per block q | k | v, the attention (q k^T and A v), c_proj and the MLP, 24 W^2 per
 * token and 4 W per pair of tokens; the class token's projection. `firstTokenOnly`: the last
 * block's c_proj and MLP for the class token alone, as the project's image tower runs it.
 */
export function imageFlops(c: ClipConfig, firstTokenOnly: boolean): number {
  const v = c.vision as { imageSize: number; patchSize: number; width: number; layers: number };
  const g = v.imageSize / v.patchSize;
  const n = g * g + 1;
  const w = v.width;
  const block = (rows: number) => 24 * w * w * rows + 4 * w * n * n;
  const last = firstTokenOnly ? 6 * w * w * n + 18 * w * w + 4 * w * n * n : block(n);
  return 2 * g * g * 3 * v.patchSize * v.patchSize * w + (v.layers - 1) * block(n) + last + 2 * w * c.embedDim;
}

/**
 * Floating-point operations of the ModifiedResNet image tower per image (both sides do the same
 * work): the stem's three 3 x 3 convolutions (the first with stride 2), per Bottleneck its 1 x 1,
 * 3 x 3 and 1 x 1 convolutions (the last after the stride's average pool) and the shortcut's
 * 1 x 1; the attention pool's k and v over the HW + 1 tokens, q and the output projection for
 * the mean token, and its attention. Pools, BatchNorm and ReLU are not counted.
 */
export function resnetFlops(c: ClipConfig): number {
  const v = c.vision as { imageSize: number; width: number };
  const conv = (pixels: number, k: number, cin: number, cout: number) => 2 * pixels * k * k * cin * cout;
  let r = v.imageSize / 2;
  const w2 = v.width / 2;
  let flops = conv(r * r, 3, 3, w2) + conv(r * r, 3, w2, w2) + conv(r * r, 3, w2, v.width);
  r /= 2;
  let inplanes = v.width;
  for (const b of resnetBlocks(c)) {
    const out = r / b.stride;
    flops += conv(r * r, 1, b.inplanes, b.planes) + conv(r * r, 3, b.planes, b.planes) + conv(out * out, 1, b.planes, 4 * b.planes);
    if (b.downsample) flops += conv(out * out, 1, b.inplanes, 4 * b.planes);
    inplanes = 4 * b.planes;
    r = out;
  }
  const tokens = r * r + 1;
  return flops + 2 * (2 * tokens * inplanes * inplanes + inplanes * inplanes + inplanes * c.embedDim) + 4 * tokens * inplanes;
}

/**
 * Floating-point operations of one DAMPL step's text tower, forward and backward (the gradient
 * with respect to the prompts only: 24 W^2 per token each way, attention 4 W per pair forward and
 * 8 W backward). `project`: the prompts cut after their last EOT, the shared first tokens once
 * per group, and the last block's c_proj and MLP for the EOT rows alone; otherwise every prompt
 * at the full context length `L` with the attention over all L x L pairs, as DAPL's trainer (and
 * torch_step.py) computes it under the causal mask.
 */
export function stepFlops(layout: ReturnType<typeof promptLayout>, L: number, project: boolean): number {
  const { width: w, layers } = STEP_SHAPE;
  const p = layout.eot.length;
  if (!project) return layers * (48 * w * w * p * L + 12 * w * p * L * L);
  const groups = layout.shared?.groups ?? p;
  const lp = layout.shared?.prefix ?? 0;
  const lb = layout.length - lp;
  const rows = groups * lp + p * lb;
  const pairs = (groups * lp * (lp + 1)) / 2 + p * (lb * lp + (lb * (lb + 1)) / 2);
  const lastRows = layout.shared ? 6 * w * w * rows + 18 * w * w * p : 24 * w * w * rows; // the EOT-only last block runs on shared layouts
  return 2 * ((layers - 1) * 24 * w * w * rows + lastRows) + layers * 12 * w * pairs;
}
