/**
 * The port against OpenAI's own CLIP: the reference vectors in shared/reference/clip (made with
 * openai/CLIP's clip/model.py) reproduced within |a-b| <= 1e-4 + 1e-3*|b| on every backend:
 * wasm and cpu in the default test run, webgpu in `nx run clip:test:webgpu`
 * (DAMPL_TEST=webgpu). Values are read with `await t.data()`, as on the GPU route.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DamplError, readSafetensors, selectBackend, toFloat32, toInt32, type SafeTensor,
} from '@dampl/runtime';
import { loadClip } from './load.js';
import { clipReferenceDir } from './testing/reference.js';
import type { ClipModel, ClipTokenizer } from './types.js';

const clipDir = await clipReferenceDir();
const BACKENDS = process.env.DAMPL_TEST === 'webgpu' ? ['webgpu'] as const : ['wasm', 'cpu'] as const;

const MODELS = [
  { name: 'vit-tiny (OpenAI layout)', set: 'vit-tiny', path: 'vit-tiny/openai.safetensors' },
  { name: 'vit-tiny (Hugging Face layout)', set: 'vit-tiny', path: 'vit-tiny/hf' },
  { name: 'rn-tiny (OpenAI layout)', set: 'rn-tiny', path: 'rn-tiny/openai.safetensors' },
];

interface Golden {
  json: { clip_kwargs: Record<string, unknown>; tolerance: { abs: number; rel: number } };
  tensors: Map<string, SafeTensor>;
}

async function readGolden(set: string): Promise<Golden> {
  const json = JSON.parse(readFileSync(path.join(clipDir, set, 'golden.json'), 'utf8')) as Golden['json'];
  const { tensors } = await readSafetensors(path.join(clipDir, set, 'golden.safetensors'));
  return { json, tensors };
}

function input(g: Golden, name: string): tf.Tensor {
  const t = g.tensors.get(name)!;
  return t.dtype === 'I32' ? tf.tensor(toInt32(t), t.shape, 'int32') : tf.tensor(toFloat32(t), t.shape, 'float32');
}

/** Max |a-b| and the largest excess over the tolerance (<= 0 means within); disposes `actual`. */
async function compare(actual: tf.Tensor, g: Golden, name: string): Promise<{ maxAbs: number; excess: number }> {
  const want = g.tensors.get(name)!;
  expect(actual.shape).toEqual(want.shape);
  const a = await actual.data();
  actual.dispose();
  const b = toFloat32(want);
  const { abs, rel } = g.json.tolerance;
  let maxAbs = 0;
  let excess = -Infinity;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = d; // NaN sticks
    excess = Math.max(excess, d - (abs + rel * Math.abs(b[i]!)));
    if (Number.isNaN(d)) excess = Infinity;
  }
  return { maxAbs, excess };
}

const report: string[] = [];

describe('CLIP against OpenAI reference vectors', () => {
  afterAll(() => {
    if (report.length) console.log(['max |a-b| per golden:', ...report].join('\n'));
  });

  for (const backend of BACKENDS) {
    describe(backend, () => {
      beforeAll(async () => {
        await selectBackend(backend);
      });

      for (const spec of MODELS) {
        describe(spec.name, () => {
          let model: ClipModel;
          let g: Golden;
          const errors: Record<string, number> = {};
          const check = async (actual: tf.Tensor, name: string): Promise<void> => {
            const { maxAbs, excess } = await compare(actual, g, name);
            errors[name] = maxAbs;
            expect(excess, `${name}: max |a-b| ${maxAbs}`).toBeLessThanOrEqual(0);
          };

          beforeAll(async () => {
            g = await readGolden(spec.set);
            const hf = !spec.path.endsWith('.safetensors');
            model = await loadClip(path.join(clipDir, spec.path), hf ? {} : { config: g.json.clip_kwargs as never });
          });

          afterAll(() => {
            model?.dispose();
            report.push(`  ${backend.padEnd(4)} ${spec.name.padEnd(30)} ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
          });

          it('image_features = encode_image(images)', async () => {
            await check(tf.tidy(() => model.encodeImage(input(g, 'images') as tf.Tensor4D)), 'image_features');
          });

          it('text_features = encode_text(tokens)', async () => {
            await check(tf.tidy(() => model.encodeText(input(g, 'tokens') as tf.Tensor2D)), 'text_features');
          });

          it('logits_per_image = exp(logit_scale) * norm(image) @ norm(text)^T', async () => {
            await check(tf.tidy(() => {
              const normalise = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 'euclidean', -1, true)) as tf.Tensor2D;
              const img = normalise(model.encodeImage(input(g, 'images') as tf.Tensor4D));
              const txt = normalise(model.encodeText(input(g, 'tokens') as tf.Tensor2D));
              return tf.mul(tf.matMul(img, tf.transpose(txt)), model.logitScale);
            }), 'logits_per_image');
          });

          it('prompt_text_features from prompt_embeddings, EOT at argmax(prompt_tokens)', async () => {
            await check(tf.tidy(() => {
              const eot = tf.cast(tf.argMax(input(g, 'prompt_tokens'), 1), 'int32') as tf.Tensor1D;
              return model.encodeTextFromEmbeddings(input(g, 'prompt_embeddings') as tf.Tensor3D, eot);
            }), 'prompt_text_features');
          });

          it('grad_prompt_embeddings = d sum(prompt_text_features * probe) / d prompt_embeddings', async () => {
            const argmax = tf.tidy(() => tf.argMax(input(g, 'prompt_tokens'), 1));
            const eot = Array.from(await argmax.data());
            argmax.dispose();
            await check(tf.tidy(() => {
              const probe = input(g, 'probe');
              const f = (e: tf.Tensor) => tf.sum(tf.mul(model.encodeTextFromEmbeddings(e as tf.Tensor3D, eot), probe));
              return tf.grad(f)(input(g, 'prompt_embeddings'));
            }), 'grad_prompt_embeddings');
          });

          it('leaks no tensors and keeps its weights as plain tensors', () => {
            const r = model.config.vision.imageSize;
            const pixels = tf.zeros([1, 3, r, r]) as tf.Tensor4D;
            const tokens = tf.tensor2d([[49406, 320, 49407]], [1, 3], 'int32');
            const before = tf.memory().numTensors;
            tf.dispose([model.encodeImage(pixels), model.encodeText(tokens)]);
            expect(tf.memory().numTensors).toBe(before);
            tf.dispose([pixels, tokens]);
            for (const t of model.weights().values()) expect(t).not.toBeInstanceOf(tf.Variable);
          });
        });
      }
    });
  }
});

describe('the loaded model', () => {
  let model: ClipModel;
  beforeAll(async () => {
    await selectBackend('cpu');
    model = await loadClip(path.join(clipDir, 'vit-tiny/hf'));
  });
  afterAll(() => model?.dispose());

  it('gives its weights back in canonical names and layout', async () => {
    const { tensors } = await readSafetensors(path.join(clipDir, 'vit-tiny/openai.safetensors'));
    const w = model.weights();
    expect([...w.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const name of ['visual.conv1.weight', 'visual.proj', 'transformer.resblocks.1.attn.in_proj_weight', 'visual.transformer.resblocks.0.mlp.c_fc.weight', 'text_projection']) {
      expect(w.get(name)!.shape, name).toEqual(tensors.get(name)!.shape);
      expect(Array.from(w.get(name)!.dataSync()), name).toEqual(Array.from(toFloat32(tensors.get(name)!)));
    }
  });

  it('knows its source, hash and logit scale', () => {
    expect(model.source).toContain('vit-tiny/hf');
    expect(model.weightsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(model.logitScale).toBeCloseTo(Math.exp(2.995732307434082), 4);
  });

  it('has no tokenizer when its directory holds none, and says how to give one', () => {
    expect(() => model.tokenizer).toThrow(DamplError);
    expect(() => model.tokenizer).toThrow(/loadClip\(path, \{ tokenizer \}\)/);
  });

  it('uses an injected tokenizer', async () => {
    const tok: ClipTokenizer = { sot: 49406, eot: 49407, encode: () => [], tokenize: () => ({ ids: new Int32Array(0), shape: [0, 77], eot: [] }) };
    const m = await loadClip(path.join(clipDir, 'vit-tiny/hf'), { tokenizer: tok });
    expect(m.tokenizer).toBe(tok);
    m.dispose();
  });

  it('loads the tokenizer given by path', async () => {
    const m = await loadClip(path.join(clipDir, 'vit-tiny/hf'), { tokenizer: path.join(clipDir, 'bpe_simple_vocab_16e6.txt.gz') });
    const batch = m.tokenizer.tokenize(['a photo of a dog.']);
    const golden = await readGolden('vit-tiny');
    const tokens = toInt32(golden.tensors.get('prompt_tokens')!);
    expect(Array.from(batch.ids)).toEqual(Array.from(tokens.subarray(2 * 77, 3 * 77)));
    m.dispose();
  });

  it('rejects images of the wrong size', () => {
    expect(() => model.encodeImage(tf.zeros([1, 3, 16, 16]))).toThrow(/expected \[N, 3, 32, 32\]/);
  });
});
