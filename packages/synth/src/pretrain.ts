/**
 * Pretrains the small CLIP of the synthetic world: a ViT image tower and the causal text
 * transformer of packages/clip (the same code that runs released CLIPs), trained contrastively
 * on the captioned `pretrain` split, then saved in Hugging Face layout with its own BPE
 * vocabulary learned from the captions.
 *
 * The pretraining mixture is deliberately uneven across domains (`domainShare`): like web
 * image-text data, it holds many photos, fewer clipart images and paintings and fewest sketches
 * (of 400 generated per class and domain it keeps about 100% of the photos, 60% of the clipart,
 * 50% of the paintings and 40% of the sketches), so the resulting model is better at zero-shot on
 * some domains than on others, which leaves a domain gap for adaptation methods to close. Most
 * captions are short ("<style> of a <class>.", `shortCaption`), and images are flipped and
 * shifted by a few pixels (`augment`). At the end it reports zero-shot accuracy per domain of the
 * adapt split and a 5-fold linear probe per domain (`linearProbeByDomain`): how far methods that
 * keep the image features frozen could get with target labels.
 *
 *   npx tsx packages/synth/src/pretrain-main.ts [--out DIR] [--world DIR] [--backend wasm] [--init-from DIR]
 *     [--<key> value ...]      every key of synthPretrainSchema in kebab-case, e.g. --steps 100 --share-sketch 0.3
 *   (nx run synth:pretrain; --help lists the keys with their defaults and sources)
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, matMul, workspaceRoot, type Logger,
} from '@dampl/runtime';
import {
  clipContrastiveLoss, clipPreprocess, clipVariables, createClip, loadClip, loadImage, openaiClipInit, trainBpe,
  BpeTokenizer, type ClipConfig, type ClipModel, type ClipTokenizer,
} from '@dampl/clip';
import { generateSynthWorld, type SynthCaptionRecord } from './world.js';
import { SYNTH_CLASSES } from './render.js';
import { SYNTH_DOMAINS, type SynthDomain } from './style-types.js';

export { SYNTH_PRETRAIN_DEFAULTS, synthPretrainConfig, synthPretrainSchema, type SynthPretrainConfig, type SynthPretrainSettings } from './pretrain-config.js';
import type { SynthPretrainConfig } from './pretrain-config.js';

/** Where the world and the committed model live by default. */
export const SYNTH_WORLD_DIR = path.join(workspaceRoot, '.cache', 'synth', 'world');
export const SYNTH_MODEL_DIR = path.join(workspaceRoot, 'packages', 'synth', 'assets', 'synth-clip');

/** Prompt words every user of the model needs tokenised well, beside the captions. */
function vocabularyCorpus(captions: string[]): string[] {
  const names = SYNTH_CLASSES.map((c) => c.name);
  const styles = SYNTH_DOMAINS.flatMap((d) => [d.style, ...d.styleSynonyms, d.name]);
  return [...captions, ...names.map((n) => `a photo of a ${n}.`), ...styles, ...names];
}

async function readCaptions(world: string): Promise<SynthCaptionRecord[]> {
  const text = await readFile(path.join(world, 'pretrain', 'captions.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as SynthCaptionRecord);
}

/** Images of a list of files as one [N, 3, R, R] array, CLIP-preprocessed. */
async function loadPixels(files: string[], size: number): Promise<Float32Array> {
  const cfg = clipPreprocess(size);
  const per = 3 * size * size;
  const out = new Float32Array(files.length * per);
  for (let i = 0; i < files.length; i++) out.set(await loadImage(files[i]!, cfg), i * per);
  return out;
}

/** One view of an augmented image: see `SynthPretrainConfig.augment`. */
export interface AugmentView {
  flip: boolean;
  /** Side of the crop over the image side, in (0, 1]. */
  scale: number;
  /** Move of the crop's centre in pixels (right, down). */
  dx: number;
  dy: number;
}

/**
 * Writes the view `v` of the [3, R, R] image `src` into `dst` at `offset`: the square crop of side
 * v.scale * R centred at (R/2 + v.dx, R/2 + v.dy), sampled bilinearly with edge clamping onto an
 * R x R grid, mirrored left-right when v.flip. An unscaled view with integer moves copies pixels.
 */
export function augmentImage(src: Float32Array, size: number, v: AugmentView, dst: Float32Array, offset = 0): void {
  const plane = size * size;
  const clamp = (i: number) => (i < 0 ? 0 : i >= size ? size - 1 : i);
  const x0 = new Int32Array(size);
  const x1 = new Int32Array(size);
  const wx = new Float32Array(size);
  const y0 = new Int32Array(size);
  const y1 = new Int32Array(size);
  const wy = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const c = (i + 0.5 - size / 2) * v.scale - 0.5 + size / 2;
    const sx = c + v.dx;
    const sy = c + v.dy;
    const fx = Math.floor(sx);
    const fy = Math.floor(sy);
    const o = v.flip ? size - 1 - i : i;
    x0[o] = clamp(fx); x1[o] = clamp(fx + 1); wx[o] = sx - fx;
    y0[i] = clamp(fy); y1[i] = clamp(fy + 1); wy[i] = sy - fy;
  }
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * plane;
    for (let y = 0; y < size; y++) {
      const r0 = base + y0[y]! * size;
      const r1 = base + y1[y]! * size;
      const b = wy[y]!;
      const out = offset + base + y * size;
      for (let x = 0; x < size; x++) {
        const a = wx[x]!;
        const top = a === 0 ? src[r0 + x0[x]!]! : (1 - a) * src[r0 + x0[x]!]! + a * src[r0 + x1[x]!]!;
        const bottom = b === 0 ? 0 : a === 0 ? src[r1 + x0[x]!]! : (1 - a) * src[r1 + x0[x]!]! + a * src[r1 + x1[x]!]!;
        dst[out + x] = b === 0 ? top : (1 - b) * top + b * bottom;
      }
    }
  }
}

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

export interface PretrainResult {
  model: ClipModel;
  tokenizer: BpeTokenizer;
  log: string[];
  zeroShot: Record<string, number>;
  linearProbe: Record<string, number>;
}

const fmt = (r: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 10000) / 10000])));

export async function pretrainSynthClip(cfg: SynthPretrainConfig, world: string, log: Logger, initFrom?: string): Promise<PretrainResult> {
  const lines: string[] = [];
  const note = (s: string) => { lines.push(s); log.info(s); };
  const tStart = performance.now();
  await generateSynthWorld({ root: world, seed: cfg.worldSeed, perClass: { adapt: 40, pretrain: cfg.perClass } });
  const all = await readCaptions(world);
  note(`world ready in ${((performance.now() - tStart) / 1000).toFixed(1)} s`);
  const rng = new Rng(cfg.seed);
  const pick = rng.fork('mixture');
  const records = all.filter((r) => pick.next() < cfg.domainShare[r.domain]);
  const counts = Object.fromEntries(SYNTH_DOMAINS.map((d) => [d.name, records.filter((r) => r.domain === d.name).length]));
  note(`pretraining pairs: ${records.length} (${JSON.stringify(counts)}) of ${all.length}`);

  const vocab = trainBpe(vocabularyCorpus(all.map((r) => r.caption)));
  const tokenizer = new BpeTokenizer(vocab, 'synth-bpe');
  const config: ClipConfig = { ...cfg.model, text: { ...cfg.model.text, vocabSize: vocab.vocab.length } };
  note(`vocabulary: ${vocab.vocab.length} tokens; model ${JSON.stringify(config)}`);

  // full captions in rows [0, N), short ones in rows [N, 2N)
  const className = new Map(SYNTH_CLASSES.map((c) => [c.folder, c.name]));
  const styleOf = new Map(SYNTH_DOMAINS.map((d) => [d.name, d.style]));
  const short = records.map((r) => `${styleOf.get(r.domain)} of a ${className.get(r.class) ?? r.class}.`);
  const tok = tokenizer.tokenize([...records.map((r) => r.caption), ...short], 77);
  const len = Math.max(...tok.eot) + 1;
  const ids = new Int32Array(2 * records.length * len);
  for (let r = 0; r < 2 * records.length; r++) ids.set(tok.ids.subarray(r * 77, r * 77 + len), r * len);
  // the same text gets the same id: pairs sharing it are positives of each other
  const textIndex = new Map<string, number>();
  const captionId = [...records.map((r) => r.caption), ...short].map((c) => {
    if (!textIndex.has(c)) textIndex.set(c, textIndex.size);
    return textIndex.get(c)!;
  });
  const size = config.vision.imageSize;
  const t0 = performance.now();
  const pixels = await loadPixels(records.map((r) => path.join(world, 'pretrain', r.path)), size);
  const adapt = await loadAdaptImages(world, size);
  note(`decoded ${records.length} images (and the adapt split) at ${size}px in ${((performance.now() - t0) / 1000).toFixed(1)} s; captions cut to ${len} tokens`);

  const init = rng.fork('init');
  let weights = openaiClipInit(config, init);
  if (initFrom) {
    // continue from a saved model (same vocabulary: the BPE learner is deterministic on the same captions)
    const prev = await loadClip(initFrom);
    if (prev.config.text.vocabSize !== config.text.vocabSize) {
      throw new Error(`${initFrom} has a vocabulary of ${prev.config.text.vocabSize} tokens, this world gives ${config.text.vocabSize}`);
    }
    tf.dispose([...weights.values()]);
    weights = new Map([...prev.weights()].map(([k, v]) => [k, tf.clone(v)]));
    prev.dispose();
    note(`continuing from ${initFrom}`);
  }
  const model = await createClip({ config, weights, trainable: true, tokenizer });
  const vars = clipVariables(model);
  const scale = vars.get('logit_scale')!;
  const optimizer = tf.train.adam(cfg.lr, 0.9, 0.98, 1e-6);
  const order = rng.fork('order');
  const aug = rng.fork('augment');
  const { shift, minScale } = cfg.augment;
  const per = 3 * size * size;
  let perm: number[] = [];
  let pos = 0;
  let emaLoss = NaN;
  const tTrain = performance.now();
  for (let step = 1; step <= cfg.steps; step++) {
    const warm = Math.min(1, step / cfg.warmupSteps);
    const cos = 0.5 * (1 + Math.cos((Math.PI * Math.max(0, step - cfg.warmupSteps)) / Math.max(1, cfg.steps - cfg.warmupSteps)));
    (optimizer as unknown as { learningRate: number }).learningRate = cfg.lr * warm * cos;
    const batch: number[] = [];
    const flips: boolean[] = [];
    while (batch.length < cfg.batchSize) {
      if (pos >= perm.length) { perm = order.permutation(records.length); pos = 0; }
      batch.push(perm[pos++]!);
      flips.push(order.next() < 0.5);
    }
    const x = new Float32Array(batch.length * per);
    const t = new Int32Array(batch.length * len);
    const textIds: number[] = [];
    batch.forEach((b, i) => {
      const view: AugmentView = {
        flip: flips[i]!,
        scale: minScale < 1 ? aug.uniform(minScale, 1) : 1,
        dx: shift > 0 ? aug.int(2 * shift + 1) - shift : 0,
        dy: shift > 0 ? aug.int(2 * shift + 1) - shift : 0,
      };
      augmentImage(pixels.subarray(b * per, (b + 1) * per), size, view, x, i * per);
      const row = order.next() < cfg.shortCaption ? records.length + b : b;
      t.set(ids.subarray(row * len, (row + 1) * len), i * len);
      textIds.push(captionId[row]!);
    });
    // the step's one read: its loss and the logit scale after the update
    const read = tf.tidy(() => {
      const xs = tf.tensor4d(x, [batch.length, 3, size, size]);
      const ts = tf.tensor2d(t, [batch.length, len], 'int32');
      const { value, grads } = tf.variableGrads(() => clipContrastiveLoss(model.encodeImage(xs), model.encodeText(ts), scale, textIds), [...vars.values()]);
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      return tf.stack([value, tf.reshape(scale, [])]);
    });
    const [l, logScale] = (await read.data()) as Float32Array;
    read.dispose();
    if (!Number.isFinite(l)) throw new Error(`pretraining loss is ${l} at step ${step}; lower --lr (now ${cfg.lr})`);
    emaLoss = Number.isNaN(emaLoss) ? l : 0.95 * emaLoss + 0.05 * l;
    if (step % 10 === 0 || step === 1) {
      const sps = step / ((performance.now() - tTrain) / 1000);
      note(`step ${step}/${cfg.steps} loss ${l.toFixed(4)} (ema ${emaLoss.toFixed(4)}) logit_scale ${Math.exp(logScale!).toFixed(2)} ${sps.toFixed(2)} step/s`);
    }
    if (cfg.evalEvery && step % cfg.evalEvery === 0 && step < cfg.steps) {
      note(`zero-shot at step ${step}: ${fmt(await zeroShotByDomain(model, adapt, tokenizer))}`);
    }
  }
  optimizer.dispose();
  note(`training took ${((performance.now() - tTrain) / 60000).toFixed(1)} min`);
  const zeroShot = await zeroShotByDomain(model, adapt, tokenizer);
  note(`zero-shot at the end: ${fmt(zeroShot)}`);
  const linearProbe = await linearProbeByDomain(model, adapt);
  note(`5-fold linear probe at the end: ${fmt(linearProbe)}`);
  note(`all took ${((performance.now() - tStart) / 60000).toFixed(1)} min`);
  return { model, tokenizer, log: lines, zeroShot, linearProbe };
}
