/**
 * Pretrains the small CLIP of the synthetic world: a ViT image tower and the causal text
 * transformer of packages/clip (the same code that runs released CLIPs), trained contrastively
 * on the captioned `pretrain` split, then saved in Hugging Face layout with its own BPE
 * vocabulary learned from the captions.
 *
 * The pretraining mixture is deliberately uneven across domains (`domainShare`): like web
 * image-text data, it holds many photos and clipart images and few sketches and paintings, so the
 * resulting model is better at zero-shot on some domains than on others, which leaves a domain
 * gap for adaptation methods to close.
 *
 *   npx tsx packages/data/src/synth/pretrain.ts [--out DIR] [--steps N] [--backend wasm] [--init-from DIR]
 *   (nx run data:pretrain-synth)
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng, createLogger, describeBackend, selectBackend, workspaceRoot, type BackendChoice, type Logger,
} from '@dampl/runtime';
import {
  clipContrastiveLoss, clipPreprocess, clipVariables, createClip, loadClip, loadImage, openaiClipInit, saveClipHf, trainBpe,
  BpeTokenizer, type ClipConfig, type ClipModel, type ClipTokenizer,
} from '@dampl/clip';
import { generateSynthWorld, type SynthCaptionRecord } from './world.js';
import { SYNTH_CLASSES } from './render.js';
import { SYNTH_DOMAINS, type SynthDomain } from './styles.js';

export interface SynthPretrainConfig {
  worldSeed: number;
  seed: number;
  /** Pretraining images per class per domain generated (before `domainShare`). */
  perClass: number;
  /** Fraction of each domain's pretraining images used. */
  domainShare: Record<SynthDomain, number>;
  model: ClipConfig;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  /** Zero-shot evaluation on the adapt split every this many steps (0: only at the end). */
  evalEvery: number;
  /**
   * Probability that a pair uses the short caption "<style> of a <class>." instead of its full
   * caption (which also names colour, size and background), as web captions are often short.
   */
  shortCaption: number;
}

export const SYNTH_PRETRAIN_DEFAULTS: SynthPretrainConfig = {
  worldSeed: 0,
  seed: 0,
  perClass: 100,
  domainShare: { photo: 1, clipart: 0.6, painting: 0.2, sketch: 0.1 },
  model: {
    embedDim: 48,
    vision: { kind: 'vit', imageSize: 32, patchSize: 4, width: 48, layers: 2, heads: 4 },
    text: { contextLength: 77, vocabSize: 0, width: 48, heads: 4, layers: 2 },
  },
  steps: 700,
  batchSize: 64,
  lr: 2e-3,
  warmupSteps: 40,
  evalEvery: 100,
  shortCaption: 0.5,
};

/** Where the world and the committed model live by default. */
export const SYNTH_WORLD_DIR = path.join(workspaceRoot, '.cache', 'synth', 'world');
export const SYNTH_MODEL_DIR = path.join(workspaceRoot, 'packages', 'data', 'assets', 'synth-clip');

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

/** Zero-shot accuracy per domain of the adapt split with "a photo of a {class}.". */
export async function zeroShotByDomain(model: ClipModel, world: string, tokenizer: ClipTokenizer = model.tokenizer): Promise<Record<string, number>> {
  const size = model.config.vision.imageSize;
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
    const px = await loadPixels(files, size);
    let correct = 0;
    for (let i = 0; i < files.length; i += 128) {
      const n = Math.min(128, files.length - i);
      const pred = tf.tidy(() => {
        const f = model.encodeImage(tf.tensor4d(px.subarray(i * 3 * size * size, (i + n) * 3 * size * size), [n, 3, size, size]));
        return tf.argMax(tf.matMul(f, text, false, true), 1);
      });
      const p = pred.dataSync();
      pred.dispose();
      for (let j = 0; j < n; j++) if (p[j] === labels[i + j]) correct++;
    }
    out[d.name] = correct / files.length;
  }
  text.dispose();
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
}

export async function pretrainSynthClip(cfg: SynthPretrainConfig, world: string, log: Logger, initFrom?: string): Promise<PretrainResult> {
  const lines: string[] = [];
  const note = (s: string) => { lines.push(s); log.info(s); };
  await generateSynthWorld({ root: world, seed: cfg.worldSeed, perClass: { adapt: 40, pretrain: cfg.perClass } });
  const all = await readCaptions(world);
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
  note(`decoded ${records.length} images at ${size}px in ${((performance.now() - t0) / 1000).toFixed(1)} s; captions cut to ${len} tokens`);

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
  const model = createClip({ config, weights, trainable: true, tokenizer });
  const vars = clipVariables(model);
  const scale = vars.get('logit_scale')!;
  const optimizer = tf.train.adam(cfg.lr, 0.9, 0.98, 1e-6);
  const order = rng.fork('order');
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
      const src = pixels.subarray(b * per, (b + 1) * per);
      if (!flips[i]) x.set(src, i * per);
      else for (let c = 0; c < 3; c++) for (let yy = 0; yy < size; yy++) for (let xx = 0; xx < size; xx++) x[i * per + c * size * size + yy * size + xx] = src[c * size * size + yy * size + (size - 1 - xx)]!;
      const row = order.next() < cfg.shortCaption ? records.length + b : b;
      t.set(ids.subarray(row * len, (row + 1) * len), i * len);
      textIds.push(captionId[row]!);
    });
    const loss = tf.tidy(() => {
      const xs = tf.tensor4d(x, [batch.length, 3, size, size]);
      const ts = tf.tensor2d(t, [batch.length, len], 'int32');
      const { value, grads } = tf.variableGrads(() => clipContrastiveLoss(model.encodeImage(xs), model.encodeText(ts), scale, textIds), [...vars.values()]);
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      return value;
    });
    const l = loss.dataSync()[0]!;
    loss.dispose();
    if (!Number.isFinite(l)) throw new Error(`pretraining loss is ${l} at step ${step}; lower --lr (now ${cfg.lr})`);
    emaLoss = Number.isNaN(emaLoss) ? l : 0.95 * emaLoss + 0.05 * l;
    if (step % 10 === 0 || step === 1) {
      const sps = step / ((performance.now() - tTrain) / 1000);
      note(`step ${step}/${cfg.steps} loss ${l.toFixed(4)} (ema ${emaLoss.toFixed(4)}) logit_scale ${Math.exp(scale.dataSync()[0]!).toFixed(2)} ${sps.toFixed(2)} step/s`);
    }
    if (cfg.evalEvery && step % cfg.evalEvery === 0 && step < cfg.steps) {
      note(`zero-shot at step ${step}: ${JSON.stringify(await zeroShotByDomain(model, world, tokenizer))}`);
    }
  }
  optimizer.dispose();
  const zeroShot = await zeroShotByDomain(model, world, tokenizer);
  note(`zero-shot at the end: ${JSON.stringify(zeroShot)}`);
  note(`training took ${((performance.now() - tTrain) / 60000).toFixed(1)} min`);
  return { model, tokenizer, log: lines, zeroShot };
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const cfg: SynthPretrainConfig = structuredClone(SYNTH_PRETRAIN_DEFAULTS);
  if (arg('steps')) cfg.steps = Number(arg('steps'));
  if (arg('batch-size')) cfg.batchSize = Number(arg('batch-size'));
  if (arg('lr')) cfg.lr = Number(arg('lr'));
  if (arg('warmup')) cfg.warmupSteps = Number(arg('warmup'));
  if (arg('eval-every')) cfg.evalEvery = Number(arg('eval-every'));
  if (arg('short-caption')) cfg.shortCaption = Number(arg('short-caption'));
  const out = arg('out') ?? SYNTH_MODEL_DIR;
  const world = arg('world') ?? SYNTH_WORLD_DIR;
  const log = createLogger();
  const backend = await selectBackend((arg('backend') ?? 'auto') as BackendChoice);
  log.info(`backend ${describeBackend(backend)}`);
  const started = new Date();
  const r = await pretrainSynthClip(cfg, world, log, arg('init-from'));
  await mkdir(out, { recursive: true });
  const provenance = {
    made_by: 'nx run data:pretrain-synth (packages/data/src/synth/pretrain.ts)',
    config: { ...cfg, model: r.model.config },
    init_from: arg('init-from') ? path.relative(workspaceRoot, path.resolve(arg('init-from')!)) : null,
    zero_shot_adapt: r.zeroShot,
    backend: backend.name,
    device: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
    date: started.toISOString(),
  };
  await saveClipHf(out, r.model, { vocab: r.tokenizer.bpe, provenance });
  const earlier = arg('init-from') && existsSync(path.join(arg('init-from')!, 'train-log.txt'))
    ? [await readFile(path.join(arg('init-from')!, 'train-log.txt'), 'utf8')] : [];
  await writeFile(path.join(out, 'train-log.txt'), [...earlier, `# ${JSON.stringify(provenance)}`, ...r.log].join('\n') + '\n');
  log.info(`saved to ${out}`);
  r.model.dispose();
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
