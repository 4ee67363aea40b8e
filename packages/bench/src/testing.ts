/**
 * Fixtures for the bench's tests: a random tiny CLIP on disk (OpenAI-layout safetensors with a
 * byte-level tokenizer beside it), a tiny image-folder dataset, and two fast methods (nearest
 * source centroid; zero-shot through the CLIP text tower) wrapped to count their fits.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32, writeSafetensors, type SafeTensor } from '@dampl/runtime';
import { writeHfTokenizerFiles, EOT_TOKEN, SOT_TOKEN, type ClipConfig } from '@dampl/clip';
import {
  argmaxRows, defineSchema, l2Normalize, registerMethod, zeroShotTextFeatures,
  type FeatureMatrix, type Method, type MethodResult, type Prediction,
} from '@dampl/core';
import { imageFolderIndex, registerDataset, type Dataset } from '@dampl/data';
import { encodePng } from '@dampl/synth';

/** GPT-2's byte -> printable character table, in CLIP's vocabulary order. */
function byteTokens(): string[] {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = '¡'.charCodeAt(0); b <= '¬'.charCodeAt(0); b++) bs.push(b);
  for (let b = '®'.charCodeAt(0); b <= 'ÿ'.charCodeAt(0); b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return cs.map((c) => String.fromCharCode(c));
}

/** A CLIP-style vocabulary with no merges: 256 bytes, their word-final forms, SOT, EOT (514 tokens). */
function byteVocab(): { vocab: string[]; merges: string[] } {
  const bytes = byteTokens();
  return { vocab: [...bytes, ...bytes.map((c) => `${c}</w>`), SOT_TOKEN, EOT_TOKEN], merges: [] };
}

const TINY_CLIP: ClipConfig = {
  embedDim: 16,
  vision: { kind: 'vit', imageSize: 16, patchSize: 8, width: 64, layers: 1, heads: 1 },
  text: { contextLength: 77, vocabSize: 514, width: 64, heads: 1, layers: 1 },
};

/** Tensor names and shapes of an OpenAI-layout ViT CLIP state dict. */
function openaiVitShapes(c: ClipConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const blocks = (prefix: string, w: number, layers: number) => {
    for (let i = 0; i < layers; i++) {
      const b = `${prefix}transformer.resblocks.${i}.`;
      out.set(`${b}attn.in_proj_weight`, [3 * w, w]).set(`${b}attn.in_proj_bias`, [3 * w])
        .set(`${b}attn.out_proj.weight`, [w, w]).set(`${b}attn.out_proj.bias`, [w])
        .set(`${b}ln_1.weight`, [w]).set(`${b}ln_1.bias`, [w])
        .set(`${b}mlp.c_fc.weight`, [4 * w, w]).set(`${b}mlp.c_fc.bias`, [4 * w])
        .set(`${b}mlp.c_proj.weight`, [w, 4 * w]).set(`${b}mlp.c_proj.bias`, [w])
        .set(`${b}ln_2.weight`, [w]).set(`${b}ln_2.bias`, [w]);
    }
  };
  const v = c.vision;
  const grid = v.imageSize / v.patchSize!;
  out.set('visual.class_embedding', [v.width]).set('visual.positional_embedding', [grid * grid + 1, v.width])
    .set('visual.conv1.weight', [v.width, 3, v.patchSize!, v.patchSize!])
    .set('visual.ln_pre.weight', [v.width]).set('visual.ln_pre.bias', [v.width]);
  blocks('visual.', v.width, v.layers as number);
  out.set('visual.ln_post.weight', [v.width]).set('visual.ln_post.bias', [v.width]).set('visual.proj', [v.width, c.embedDim]);
  const t = c.text;
  out.set('token_embedding.weight', [t.vocabSize, t.width]).set('positional_embedding', [t.contextLength, t.width]);
  blocks('', t.width, t.layers);
  out.set('ln_final.weight', [t.width]).set('ln_final.bias', [t.width]).set('text_projection', [t.width, c.embedDim]).set('logit_scale', []);
  return out;
}

/**
 * Writes a random ViT CLIP as `<dir>/clip.safetensors` (OpenAI layout, its config in the
 * `clip_kwargs` metadata) with `tokenizer.json` beside it; returns the file to give loadClip.
 */
export async function writeRandomClip(dir: string, config: ClipConfig = TINY_CLIP, seed = 7): Promise<string> {
  await mkdir(dir, { recursive: true });
  let s = seed >>> 0;
  const normal = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    const u = (s + 1) / 2 ** 32;
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * (s / 2 ** 32));
  };
  const tensors = new Map<string, SafeTensor>();
  for (const [name, shape] of openaiVitShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name === 'logit_scale') data[0] = Math.log(1 / 0.07);
    else if (/ln_\w+\.weight$/.test(name)) data.fill(1);
    else if (!/ln_\w+\.bias$/.test(name)) for (let i = 0; i < n; i++) data[i] = 0.1 * normal();
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  const kwargs = {
    embed_dim: config.embedDim, image_resolution: config.vision.imageSize, vision_layers: config.vision.layers,
    vision_width: config.vision.width, vision_patch_size: config.vision.patchSize ?? null, vision_heads: config.vision.heads,
    context_length: config.text.contextLength, vocab_size: config.text.vocabSize, transformer_width: config.text.width,
    transformer_heads: config.text.heads, transformer_layers: config.text.layers,
  };
  const file = path.join(dir, 'clip.safetensors');
  await writeSafetensors(file, tensors, { clip_kwargs: JSON.stringify(kwargs) });
  await writeHfTokenizerFiles(dir, byteVocab());
  return file;
}

/** Registers an image-folder dataset `name` with the given domains and classes (once per process). */
export function registerTinyDataset(name: string, domains: string[], classes: string[]): Dataset {
  const ds: Dataset = {
    name, domains: domains.map((d) => ({ name: d, aliases: [] })), classes,
    tasks: domains.flatMap((s) => domains.filter((t) => t !== s).map((t) => ({ source: s, target: t, name: `${s}-${t}` }))),
    splits: { names: ['all'], trainSource: 'all', trainTarget: 'all', testTarget: 'all' },
    metric: 'accuracy',
    index: (root, opts) => imageFolderIndex(root, { ...ds, onProblem: opts?.onProblem }),
  };
  registerDataset(ds);
  return ds;
}

/**
 * Writes `<root>/<domain>/<class>/<i>.png`: each class a colour, each domain a brightness shift,
 * with pixel noise, so that classes are separable and domains differ.
 */
export async function writeTinyImages(root: string, domains: string[], classes: string[], perClass = 4, size = 16): Promise<void> {
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [di, d] of domains.entries()) {
    for (const [ci, c] of classes.entries()) {
      const dir = path.join(root, d, c);
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < perClass; i++) {
        const rgb = new Uint8Array(size * size * 3);
        for (let p = 0; p < size * size; p++) {
          const base = [ci % 3 === 0 ? 200 : 40, ci % 3 === 1 ? 200 : 40, ci % 3 === 2 ? 200 : 40];
          for (let k = 0; k < 3; k++) rgb[3 * p + k] = Math.max(0, Math.min(255, base[k]! + 30 * di + Math.round(40 * (rand() - 0.5))));
        }
        await writeFile(path.join(dir, `${i}.png`), encodePng(rgb, size, size));
      }
    }
  }
}

class FixedPredictor implements MethodResult {
  constructor(private readonly classify: (f: FeatureMatrix) => Promise<Prediction>) {}
  history = [{ epoch: 1, step: 0, lr: 0, losses: {} }];
  predict(features: FeatureMatrix): Promise<Prediction> {
    return this.classify(features);
  }
  async state() {
    return { method: 'test', config: {}, tensors: {}, meta: {} };
  }
  dispose(): void {}
}

async function cosinePredict(centres: tf.Tensor2D, f: FeatureMatrix): Promise<Prediction> {
  const p = tf.tidy(() => tf.softmax(tf.mul(tf.matMul(l2Normalize(tf.tensor2d(f.data, [f.rows, f.dim])), centres, false, true), 10)));
  const probs = await takeFloat32(p);
  return { probs, labels: argmaxRows(probs, centres.shape[0]) };
}

const emptySchema = defineSchema({});

export interface CountingMethod extends Method<Record<string, never>> {
  /** Fits started. */
  fits: number;
  /** Throw on the fit with this 1-based number. */
  failOn?: number;
  /** Milliseconds each fit waits before it starts (to make a run slow enough to interrupt). */
  delayMs?: number;
}

function counting(name: string, describe: string, fit: Method<Record<string, never>>['fit']): CountingMethod {
  const m: CountingMethod = {
    name, describe, configSchema: emptySchema, fits: 0,
    async fit(input) {
      m.fits++;
      if (m.delayMs) await new Promise((r) => setTimeout(r, m.delayMs));
      if (m.failOn === m.fits) throw new Error(`${name}: simulated crash on fit ${m.fits}`);
      return fit(input);
    },
  };
  return m;
}

/** Nearest source class centroid by cosine similarity. */
export const centroidMethod = counting('test-centroid', 'nearest source class centroid (tests)', async ({ source, sourceLabels, classNames }) => {
  const K = classNames.length;
  const sums = new Float32Array(K * source.dim);
  for (let i = 0; i < source.rows; i++) for (let e = 0; e < source.dim; e++) sums[sourceLabels[i]! * source.dim + e]! += source.data[i * source.dim + e]!;
  const centres = tf.tidy(() => l2Normalize(tf.tensor2d(sums, [K, source.dim])));
  const r = new FixedPredictor((f) => cosinePredict(centres, f));
  r.dispose = () => centres.dispose();
  return r;
});

/** Zero-shot CLIP: "a photo of a {class}." through the text tower. */
export const zeroShotTestMethod = counting('test-zero-shot', 'zero-shot CLIP (tests)', async ({ clip, classNames }) => {
  if (!clip) throw new Error('test-zero-shot needs the CLIP text tower');
  const text = zeroShotTextFeatures(clip, classNames, ['a photo of a {class}.']);
  const r = new FixedPredictor((f) => cosinePredict(text, f));
  r.dispose = () => text.dispose();
  return r;
});

export function registerTestMethods(): void {
  registerMethod(centroidMethod);
  registerMethod(zeroShotTestMethod);
}
