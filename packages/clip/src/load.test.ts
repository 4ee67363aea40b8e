import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DamplError, FormatError, f32ToBf16, f32ToF16, bf16ToF32, f16ToF32, selectBackend, serializeSafetensors,
  type SafeTensor,
} from '@dampl/runtime';
import { clipWeightShapes, randomClipWeights } from './model.js';
import { loadClip } from './load.js';
import { findCachedModel } from './hub.js';
import { hfRule } from './weights/hf.js';
import { toOpenAIKwargs } from './config.js';
import type { ClipConfig, ClipModel } from './types.js';

/** Small enough to be quick, wide enough (64) that CLIP's heads rule applies. */
const config: ClipConfig = {
  embedDim: 16,
  vision: { kind: 'vit', imageSize: 16, patchSize: 8, width: 64, layers: 1, heads: 1 },
  text: { contextLength: 77, vocabSize: 100, width: 64, heads: 1, layers: 1 },
};

let tmp: string;
let canonical: Map<string, Float32Array>;

function openaiTensors(): Map<string, SafeTensor> {
  const shapes = clipWeightShapes(config);
  return new Map([...canonical].map(([n, d]) => [n, { dtype: 'F32', shape: shapes.get(n)!, data: d }]));
}

function transpose(d: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(d.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = d[r * cols + c]!;
  return out;
}

/** The same weights in Hugging Face naming, through the inverse of weights/hf.ts's table. */
function hfTensors(): Map<string, SafeTensor> {
  const shapes = clipWeightShapes(config);
  const out = new Map<string, SafeTensor>();
  for (const [name, data] of canonical) {
    const shape = shapes.get(name)!;
    const rule = hfRule(name)!;
    if (rule.op === 'copy') out.set(rule.from[0]!, { dtype: 'F32', shape, data });
    else if (rule.op === 'transpose') out.set(rule.from[0]!, { dtype: 'F32', shape: [shape[1]!, shape[0]!], data: transpose(data, shape[0]!, shape[1]!) });
    else {
      const k = rule.from.length;
      const n = data.length / k;
      rule.from.forEach((f, i) => out.set(f, { dtype: 'F32', shape: [shape[0]! / k, ...shape.slice(1)], data: data.slice(i * n, (i + 1) * n) }));
    }
  }
  return out;
}

const hfConfig = {
  architectures: ['CLIPModel'], model_type: 'clip', projection_dim: 16,
  text_config: { hidden_size: 64, intermediate_size: 256, num_attention_heads: 1, num_hidden_layers: 1, max_position_embeddings: 77, vocab_size: 100 },
  vision_config: { hidden_size: 64, intermediate_size: 256, num_attention_heads: 1, num_hidden_layers: 1, image_size: 16, patch_size: 8 },
};

async function writeHfDir(dir: string, tensors = hfTensors()): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(hfConfig));
  await writeFile(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors));
}

async function writeFileOf(name: string, tensors: Map<string, SafeTensor>, metadata?: Record<string, string>): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, serializeSafetensors(tensors, metadata));
  return file;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  await selectBackend('cpu');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'clip-load-'));
  const w = randomClipWeights(config, 1, 0.1);
  canonical = new Map([...w].map(([n, t]) => [n, t.dataSync() as Float32Array]));
  tf.dispose([...w.values()]);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function expectSameWeights(model: ClipModel, round: (x: number) => number = (x) => x): void {
  const w = model.weights();
  expect([...w.keys()].sort()).toEqual([...canonical.keys()].sort());
  for (const [name, data] of canonical) {
    const got = w.get(name)!.dataSync();
    let worst = 0;
    for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(got[i]! - round(data[i]!)));
    expect(worst, name).toBe(0);
  }
}

describe('OpenAI-layout safetensors', () => {
  it('loads with its config inferred from the shapes, and hashes the file', async () => {
    const file = await writeFileOf('openai.safetensors', openaiTensors());
    const model = await loadClip(file);
    expect(model.config).toEqual(config);
    expect(model.weightsHash).toBe(sha256(file));
    expect(model.source).toBe(file);
    expectSameWeights(model);
    model.dispose();
  });

  it('accepts F16 and BF16 weights', async () => {
    for (const [dtype, enc, dec] of [['F16', f32ToF16, f16ToF32], ['BF16', f32ToBf16, bf16ToF32]] as const) {
      const t = new Map([...openaiTensors()].map(([n, s]) => [n, { dtype, shape: s.shape, data: Uint16Array.from(s.data as Float32Array, enc) } as SafeTensor]));
      const model = await loadClip(await writeFileOf(`openai-${dtype}.safetensors`, t));
      expectSameWeights(model, (x) => dec(enc(x)));
      model.dispose();
    }
  });

  it('skips BatchNorm counters and build_model scalars, and accepts a module. prefix', async () => {
    const t = new Map([...openaiTensors()].map(([n, s]) => [`module.${n}`, s]));
    t.set('module.context_length', { dtype: 'I64', shape: [], data: BigInt64Array.of(77n) });
    const model = await loadClip(await writeFileOf('prefixed.safetensors', t));
    expectSameWeights(model);
    model.dispose();
  });

  it('takes its config from __metadata__ clip_kwargs', async () => {
    const meta = { clip_kwargs: JSON.stringify(toOpenAIKwargs(config)) };
    const model = await loadClip(await writeFileOf('meta.safetensors', openaiTensors(), meta));
    expect(model.config).toEqual(config);
    model.dispose();
  });

  it('names a tensor of the wrong shape and both shapes', async () => {
    const t = openaiTensors();
    t.set('transformer.resblocks.0.mlp.c_fc.weight', { dtype: 'F32', shape: [255, 64], data: new Float32Array(255 * 64) });
    const file = await writeFileOf('wrong-shape.safetensors', t);
    const err = await loadClip(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toContain("tensor 'transformer.resblocks.0.mlp.c_fc.weight' has shape [255, 64] but the model config needs [256, 64]");
  });

  it('names a missing tensor', async () => {
    const t = openaiTensors();
    t.delete('visual.ln_post.bias');
    const err = await loadClip(await writeFileOf('missing.safetensors', t)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toMatch(/missing tensor 'visual\.ln_post\.bias' \[64\]/);
  });

  it('names an unexpected tensor', async () => {
    const t = openaiTensors();
    t.set('visual.extra_head.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    const err = await loadClip(await writeFileOf('unexpected.safetensors', t)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toMatch(/unexpected tensor 'visual\.extra_head\.weight'/);
  });

  it('refuses non-safetensors checkpoints and unknown paths with a next step', async () => {
    const bin = path.join(tmp, 'pytorch_model.bin');
    await writeFile(bin, 'x');
    await expect(loadClip(bin)).rejects.toThrow(/convert them to safetensors/);
    await expect(loadClip(path.join(tmp, 'nope', 'x.safetensors'))).rejects.toThrow(/no such file or directory/);
  });
});

describe('Hugging Face directory', () => {
  it('loads the same model as the OpenAI layout, with the same features', async () => {
    const dir = path.join(tmp, 'hf');
    await writeHfDir(dir);
    const hf = await loadClip(dir);
    const oa = await loadClip(await writeFileOf('openai-same.safetensors', openaiTensors()));
    expect(hf.config).toEqual(config);
    expect(hf.weightsHash).toBe(sha256(path.join(dir, 'model.safetensors')));
    expectSameWeights(hf);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 3, 16, 16], 0, 1, 'float32', 2) as tf.Tensor4D;
      const tok = tf.tensor2d([[98, 5, 6, 99, 0], [98, 99, 0, 0, 0]], [2, 5], 'int32');
      expect(tf.max(tf.abs(tf.sub(hf.encodeImage(x), oa.encodeImage(x)))).dataSync()[0]).toBe(0);
      expect(tf.max(tf.abs(tf.sub(hf.encodeText(tok), oa.encodeText(tok)))).dataSync()[0]).toBe(0);
    });
    hf.dispose();
    oa.dispose();
  });

  it('loads from its model.safetensors path too, with config.json beside it', async () => {
    const dir = path.join(tmp, 'hf-file');
    await writeHfDir(dir);
    const model = await loadClip(path.join(dir, 'model.safetensors'));
    expect(model.config).toEqual(config);
    expectSameWeights(model);
    model.dispose();
    await rm(path.join(dir, 'config.json'));
    await expect(loadClip(path.join(dir, 'model.safetensors'))).rejects.toThrow(/no config.json beside it/);
  });

  it('names a wrong-shaped q_proj with both shapes, and a missing projection with its canonical name', async () => {
    const t = hfTensors();
    t.set('text_model.encoder.layers.0.self_attn.q_proj.weight', { dtype: 'F32', shape: [64, 32], data: new Float32Array(64 * 32) });
    await writeHfDir(path.join(tmp, 'hf-bad'), t);
    await expect(loadClip(path.join(tmp, 'hf-bad'))).rejects.toThrow(
      "tensor 'text_model.encoder.layers.0.self_attn.q_proj.weight' has shape [64, 32] but the model config needs [64, 64]");
    const m = hfTensors();
    m.delete('text_projection.weight');
    await writeHfDir(path.join(tmp, 'hf-missing'), m);
    await expect(loadClip(path.join(tmp, 'hf-missing'))).rejects.toThrow(/missing tensor 'text_projection\.weight' \[16, 64\] \(canonical 'text_projection'\)/);
  });
});

describe('hub ids', () => {
  const id = 'acme/clip-tiny-test';
  const env = { ...process.env };
  afterEach(() => {
    for (const k of ['HF_HUB_OFFLINE', 'DAMPL_HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE']) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
  });

  it('offline and not cached: the error names the files and where to put them', async () => {
    const hub = path.join(tmp, 'empty-hub');
    process.env.HF_HUB_OFFLINE = '1';
    const err = await loadClip(id, { hubCacheDir: hub, xenovaCacheDir: path.join(tmp, 'empty-x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    const msg = (err as Error).message;
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json']) expect(msg).toContain(f);
    expect(msg).toContain(path.join(hub, 'models--acme--clip-tiny-test', 'snapshots', 'main'));
    expect(msg).toContain(path.join(tmp, 'empty-x', id));
    expect(msg).toContain('offline');
  });

  it('finds a model in the Hugging Face cache layout through refs/main', async () => {
    process.env.HF_HOME = path.join(tmp, 'hf-home');
    const repo = path.join(tmp, 'hf-home', 'hub', 'models--acme--clip-tiny-test');
    const commit = 'a'.repeat(40);
    await writeHfDir(path.join(repo, 'snapshots', commit));
    await mkdir(path.join(repo, 'refs'), { recursive: true });
    await writeFile(path.join(repo, 'refs', 'main'), commit);
    process.env.HF_HUB_OFFLINE = '1';
    const model = await loadClip(id, { xenovaCacheDir: path.join(tmp, 'empty-x') });
    expect(model.source).toBe(id);
    expectSameWeights(model);
    model.dispose();
  });

  it("finds a model in @xenova/transformers' cache folder", async () => {
    const x = path.join(tmp, 'xenova');
    await writeHfDir(path.join(x, id));
    expect(findCachedModel(id, { hubCacheDir: path.join(tmp, 'empty-hub'), xenovaCacheDir: x })).toBe(path.join(x, id));
    const model = await loadClip(id, { hubCacheDir: path.join(tmp, 'empty-hub'), xenovaCacheDir: x, offline: true });
    expectSameWeights(model);
    model.dispose();
  });

  describe('download', () => {
    let server: Server;
    let base: string;
    const requests: string[] = [];
    const commit = 'b'.repeat(40);

    beforeAll(async () => {
      const files: Record<string, Buffer> = {
        'config.json': Buffer.from(JSON.stringify(hfConfig)),
        'model.safetensors': serializeSafetensors(hfTensors()),
        'preprocessor_config.json': Buffer.from(JSON.stringify({ crop_size: 16 })),
      };
      server = createServer((req, res) => {
        requests.push(req.url ?? '');
        const m = /^\/acme\/clip-tiny-test\/resolve\/main\/(.+)$/.exec(req.url ?? '');
        const body = m && files[m[1]!];
        if (!body) { res.writeHead(404).end('not found'); return; }
        res.writeHead(200, { 'content-length': body.length, 'x-repo-commit': commit }).end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('fetches <endpoint>/<id>/resolve/main/<file> into the cache layout, then uses the cache', async () => {
      const hub = path.join(tmp, 'dl-hub');
      process.env.DAMPL_HF_ENDPOINT = base;
      const opts = { hubCacheDir: hub, xenovaCacheDir: path.join(tmp, 'empty-x') };
      const model = await loadClip(id, opts);
      expectSameWeights(model);
      model.dispose();
      const snap = path.join(hub, 'models--acme--clip-tiny-test', 'snapshots', commit);
      expect(existsSync(path.join(snap, 'model.safetensors'))).toBe(true);
      expect(existsSync(path.join(snap, 'preprocessor_config.json'))).toBe(true);
      expect(existsSync(path.join(snap, 'tokenizer.json'))).toBe(false);
      expect((await readFile(path.join(hub, 'models--acme--clip-tiny-test', 'refs', 'main'), 'utf8')).trim()).toBe(commit);
      expect(requests).toContain('/acme/clip-tiny-test/resolve/main/model.safetensors');
      // the tokenizer needs tokenizer_config.json beside tokenizer.json: both are asked for
      expect(requests).toContain('/acme/clip-tiny-test/resolve/main/tokenizer.json');
      expect(requests).toContain('/acme/clip-tiny-test/resolve/main/tokenizer_config.json');
      const n = requests.length;
      const again = await loadClip(id, opts);
      expect(requests.length).toBe(n);
      again.dispose();
    });

    it('an unreachable hub is an error that names the files and the folder', async () => {
      const port = (server.address() as AddressInfo).port;
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      expect(deadPort).not.toBe(port);
      const hub = path.join(tmp, 'dead-hub');
      const err = await loadClip(id, { hubCacheDir: hub, xenovaCacheDir: path.join(tmp, 'empty-x'), endpoint: `http://127.0.0.1:${deadPort}` })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DamplError);
      expect((err as Error).message).toMatch(/fetching http:\/\/127\.0\.0\.1:\d+\/acme\/clip-tiny-test\/resolve\/main\/config\.json failed/);
      expect((err as Error).message).toContain('model.safetensors');
      expect((err as Error).message).toContain(path.join(hub, 'models--acme--clip-tiny-test', 'snapshots', 'main'));
      expect(existsSync(path.join(hub, 'models--acme--clip-tiny-test', 'snapshots', 'main'))).toBe(false);
    });
  });
});
