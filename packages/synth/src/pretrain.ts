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

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, workspaceRoot, type Logger } from '@dampl/runtime';
import { clipContrastiveLoss, clipVariables, createClip, loadClip, openaiClipInit, trainBpe, BpeTokenizer, type ClipConfig, type ClipModel } from '@dampl/clip';
import { generateSynthWorld, type SynthCaptionRecord } from './world.js';
import { SYNTH_CLASSES } from './render.js';
import { SYNTH_DOMAINS } from './style-types.js';

export { type SynthPretrainConfig, type SynthPretrainSettings } from './pretrain-config.js';
import type { SynthPretrainConfig } from './pretrain-config.js';
import { augmentImage, loadPixels, type AugmentView } from './augment.js';
import { linearProbeByDomain, loadAdaptImages, zeroShotByDomain } from './synth-eval.js';

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
