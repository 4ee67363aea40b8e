/**
 * How well a CLIP knows the synthetic world: zero-shot accuracy per domain of the adapt split, and
 * a 5-fold linear probe per domain on the frozen image features (how far methods that keep the
 * image features frozen could get with target labels).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '@dampl/runtime';
import { type ClipModel, type ClipTokenizer } from '@dampl/clip';
import { SYNTH_CLASSES } from './render.js';
import { SYNTH_DOMAINS } from './style-types.js';

import { loadPixels } from './augment.js';

/** The adapt split of a world, decoded once: per domain, CLIP-preprocessed pixels and class labels. */
export interface AdaptImages {
  size: number;
  domains: { name: string; pixels: Float32Array; labels: number[] }[];
}

/** Reads the adapt split of `world` at the model's resolution `size`. */
export async function loadAdaptImages(world: string, size: number): Promise<AdaptImages> {
  const domains: AdaptImages['domains'] = [];
  for (const d of SYNTH_DOMAINS) {
    const files: string[] = [];
    const labels: number[] = [];
    SYNTH_CLASSES.forEach((c, k) => {
      const dir = path.join(world, 'adapt', d.folder, c.folder);
      if (!existsSync(dir)) return;
      for (const f of pngFiles(dir)) {
        files.push(path.join(dir, f));
        labels.push(k);
      }
    });
    domains.push({ name: d.name, pixels: await loadPixels(files, size), labels });
  }
  return { size, domains };
}

async function adaptImagesOf(model: ClipModel, world: string | AdaptImages): Promise<AdaptImages> {
  const size = model.config.vision.imageSize;
  const data = typeof world === 'string' ? await loadAdaptImages(world, size) : world;
  if (data.size !== size) throw new Error(`adapt images are ${data.size}px, the model takes ${size}px`);
  return data;
}

/** Image features [N, E] of CLIP-preprocessed pixels, in batches of 128. */
async function imageFeatures(model: ClipModel, pixels: Float32Array, size: number, normalise: boolean): Promise<Float32Array> {
  const per = 3 * size * size;
  const n = pixels.length / per;
  const e = model.config.embedDim;
  const out = new Float32Array(n * e);
  for (let i = 0; i < n; i += 128) {
    const m = Math.min(128, n - i);
    const f = tf.tidy(() => {
      const x = model.encodeImage(tf.tensor4d(pixels.subarray(i * per, (i + m) * per), [m, 3, size, size]));
      return normalise ? tf.div(x, tf.norm(x, 'euclidean', 1, true)) : x;
    });
    try {
      out.set((await f.data()) as Float32Array, i * e);
    } finally {
      f.dispose();
    }
  }
  return out;
}

/**
 * Zero-shot accuracy per domain of the adapt split with "a photo of a {class}.". `world` is a
 * world folder or its adapt images read by `loadAdaptImages`.
 */
export async function zeroShotByDomain(model: ClipModel, world: string | AdaptImages, tokenizer: ClipTokenizer = model.tokenizer): Promise<Record<string, number>> {
  const data = await adaptImagesOf(model, world);
  const prompts = SYNTH_CLASSES.map((c) => `a photo of a ${c.name}.`);
  const t = tokenizer.tokenize(prompts, 77);
  const len = Math.max(...t.eot) + 1;
  const ids = new Int32Array(prompts.length * len);
  for (let r = 0; r < prompts.length; r++) ids.set(t.ids.subarray(r * 77, r * 77 + len), r * len);
  const text = tf.tidy(() => {
    const f = model.encodeText(tf.tensor2d(ids, [prompts.length, len], 'int32'));
    return tf.div(f, tf.norm(f, 'euclidean', 1, true));
  });
  const out: Record<string, number> = {};
  for (const d of data.domains) {
    const n = d.labels.length;
    const feats = await imageFeatures(model, d.pixels, data.size, false);
    const pred = tf.tidy(() => tf.argMax(tf.matMul(tf.tensor2d(feats, [n, model.config.embedDim]), text, false, true), 1));
    const p = await pred.data();
    pred.dispose();
    let correct = 0;
    for (let j = 0; j < n; j++) if (p[j] === d.labels[j]) correct++;
    out[d.name] = correct / n;
  }
  text.dispose();
  return out;
}

export interface LinearProbeOptions {
  /** Cross-validation folds (stratified: the i-th image of each class goes to fold i mod folds). */
  folds?: number;
  /** Full-batch Adam steps per fold. */
  steps?: number;
  lr?: number;
  /** L2 penalty on the weights (on features rescaled to norm sqrt(E)). */
  weightDecay?: number;
}

/**
 * Softmax regression with cross-validation on `features` [N, D] (rows L2-normalised by the caller)
 * and integer `labels`: the fraction of images whose held-out prediction is right. Each fold fits
 * weights and biases from zero by full-batch Adam; deterministic.
 */
export async function crossValidatedLinearProbe(features: Float32Array, labels: readonly number[], classes: number, opts: LinearProbeOptions = {}): Promise<number> {
  const { folds = 5, steps = 300, lr = 0.05, weightDecay = 1e-3 } = opts;
  const n = labels.length;
  const d = features.length / n;
  if (!Number.isInteger(d) || n < folds) throw new Error(`linear probe: ${features.length} feature values for ${n} labels`);
  const seen = new Array<number>(classes).fill(0);
  const fold = labels.map((c) => seen[c]!++ % folds);
  const scale = Math.sqrt(d);
  const rows = (keep: (f: number) => boolean) => {
    const idx = fold.flatMap((f, i) => (keep(f) ? [i] : []));
    const x = new Float32Array(idx.length * d);
    idx.forEach((i, r) => { for (let j = 0; j < d; j++) x[r * d + j] = features[i * d + j]! * scale; });
    return { idx, x };
  };
  let correct = 0;
  for (let k = 0; k < folds; k++) {
    const train = rows((f) => f !== k);
    const test = rows((f) => f === k);
    if (test.idx.length === 0 || train.idx.length === 0) continue;
    const w = tf.variable(tf.zeros([d, classes])) as tf.Variable<tf.Rank.R2>;
    const b = tf.variable(tf.zeros([classes]));
    const opt = tf.train.adam(lr);
    const x = tf.tensor2d(train.x, [train.idx.length, d]);
    // tf.oneHot of float32 is wrong on wasm: make it int32, then cast
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(train.idx.map((i) => labels[i]!), 'int32'), classes), 'float32'));
    for (let s = 0; s < steps; s++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.add(
          tf.losses.softmaxCrossEntropy(y, tf.add(matMul(x, w), b)),
          tf.mul(weightDecay, tf.sum(tf.square(w))),
        ) as tf.Scalar, [w, b]);
        opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
      });
    }
    const pred = tf.tidy(() => tf.argMax(tf.add(matMul(tf.tensor2d(test.x, [test.idx.length, d]), w), b), 1));
    const p = await pred.data();
    test.idx.forEach((i, r) => { if (p[r] === labels[i]) correct++; });
    tf.dispose([pred, x, y, w, b]);
    opt.dispose();
  }
  return correct / n;
}

/**
 * How well the frozen image features separate the classes within each domain of the adapt split:
 * the accuracy of a 5-fold cross-validated softmax regression (a target-supervised linear probe)
 * on L2-normalised image features, per domain. An upper reference for methods that adapt on top of
 * frozen features.
 */
export async function linearProbeByDomain(model: ClipModel, world: string | AdaptImages, opts: LinearProbeOptions = {}): Promise<Record<string, number>> {
  const data = await adaptImagesOf(model, world);
  const out: Record<string, number> = {};
  for (const d of data.domains) {
    out[d.name] = await crossValidatedLinearProbe(await imageFeatures(model, d.pixels, data.size, true), d.labels, SYNTH_CLASSES.length, opts);
  }
  return out;
}

/** PNG files of a folder, sorted. */
function pngFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
}
