/**
 * Loading a CLIP from disk or the Hugging Face hub.
 *
 * `loadClip(pathOrId)` accepts
 *   - a Hugging Face CLIPModel directory: `config.json` + `model.safetensors` (or a sharded
 *     `model.safetensors.index.json`), optionally `tokenizer.json`, `preprocessor_config.json`;
 *   - an OpenAI / open_clip state dict in one `.safetensors` file; its config is inferred from the
 *     tensor shapes as OpenAI's build_model does (see config.ts for the attention heads);
 *   - a hub id such as `openai/clip-vit-base-patch16`, looked up in the local caches and else
 *     downloaded (hub.ts).
 *
 * Weights are F32, F16 or BF16 on disk and become float32 tensors named canonically (OpenAI
 * layout) through the layout's mapping table (weights/openai.ts, weights/hf.ts). A missing or
 * unexpected tensor, or one of the wrong shape, is a FormatError that names it.
 * `weightsHash` is the sha256 of the weight file (of the shards' bytes in order when sharded).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  DamplError, FormatError, SafetensorsFile, toFloat32, type SafeDtype,
} from '@dampl/runtime';
import type { ClipConfig, ClipModel, ClipTokenizer } from './types.js';
import {
  configFromHf, configFromMetadata, headsFromMetadata, inferConfigFromShapes, normalizeConfig,
  type OpenAIClipKwargs,
} from './config.js';
import { clipWeightShapes, createClip } from './model.js';
import { detectOpenAIPrefix, openaiLayout, sourceShape, type CheckpointLayout } from './weights/openai.js';
import { hfLayout, isHfLayout } from './weights/hf.js';
import { loadTokenizer } from './tokenizer.js';
import { BPE_VOCAB_FILE } from './token-batch.js';
import { HF_MODEL_FILES, SHARD_INDEX, isHubId, resolveHubModel, type HubOptions } from './hub.js';

export interface LoadClipOptions extends HubOptions {
  /** A tokenizer, or the path of a vocabulary (tokenizer.json, its directory, or CLIP's BPE merges file). */
  tokenizer?: ClipTokenizer | string;
  /** The model's full config (overrides config.json, metadata and inference). */
  config?: ClipConfig | OpenAIClipKwargs;
  /** Text attention heads for an OpenAI-layout file whose width does not follow the width // 64 rule. */
  textHeads?: number;
  /** Image-tower attention heads, likewise. */
  visionHeads?: number;
}


const FLOAT_DTYPES: ReadonlySet<SafeDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

// ---------------------------------------------------------------------------------------------
// Checkpoint -> canonical tensors

/** Where each tensor of a (possibly sharded) checkpoint lives. */
class Checkpoint {
  private constructor(readonly files: SafetensorsFile[], readonly where: Map<string, SafetensorsFile>) {}

  static async open(paths: string[]): Promise<Checkpoint> {
    const files: SafetensorsFile[] = [];
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const p of paths) {
        const f = await SafetensorsFile.open(p);
        files.push(f);
        for (const n of f.names) {
          if (where.has(n)) throw new FormatError(`tensor '${n}' is in both ${where.get(n)!.path} and ${p}`);
          where.set(n, f);
        }
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    return new Checkpoint(files, where);
  }

  get names(): string[] {
    return [...this.where.keys()];
  }

  get label(): string {
    return this.files.length === 1 ? this.files[0]!.path : `${path.dirname(this.files[0]!.path)} (${this.files.length} shards)`;
  }

  shapes(): Map<string, number[]> {
    return new Map(this.names.map((n) => [n, this.where.get(n)!.entry(n).shape]));
  }

  metadata(): Record<string, string> {
    return Object.assign({}, ...this.files.map((f) => f.metadata));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/**
 * Checks a checkpoint against a layout's rules for `config` (every source present with its
 * expected shape and a float dtype, nothing left over but ignored entries), then reads it into
 * canonical float32 tensors.
 */
async function readCanonicalWeights(ckpt: Checkpoint, layout: CheckpointLayout, config: ClipConfig): Promise<Map<string, tf.Tensor>> {
  const label = ckpt.label;
  const canonical = clipWeightShapes(config);
  const rules = layout.rules(canonical.keys());
  const present = new Set(ckpt.names);
  const used = new Set<string>();
  const missing: string[] = [];
  for (const rule of rules) {
    const want = sourceShape(rule, canonical.get(rule.to)!);
    for (const name of rule.from) {
      used.add(name);
      if (!present.has(name)) {
        missing.push(`'${name}' ${shapeStr(want)}${rule.from[0] === rule.to ? '' : ` (canonical '${rule.to}')`}`);
        continue;
      }
      const e = ckpt.where.get(name)!.entry(name);
      if (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i])) {
        throw new FormatError(`${label}: tensor '${name}' has shape ${shapeStr(e.shape)} but the model config needs ${shapeStr(want)}`,
          'the checkpoint does not match its config (config.json, metadata or the config given to loadClip)');
      }
      if (!FLOAT_DTYPES.has(e.dtype)) {
        throw new FormatError(`${label}: tensor '${name}' has dtype ${e.dtype}; weights must be F32, F16 or BF16`);
      }
    }
  }
  const unexpected = ckpt.names.filter((n) => !used.has(n) && !layout.ignored.some((re) => re.test(n)));
  if (missing.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing tensor${missing.length > 1 ? 's' : ''} ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`);
    if (unexpected.length) parts.push(`unexpected tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 8).map((n) => `'${n}'`).join(', ')}${unexpected.length > 8 ? ` and ${unexpected.length - 8} more` : ''}`);
    throw new FormatError(`${label} (${layout.name} layout): ${parts.join('; ')}`,
      'the file does not hold the CLIP its config describes; check the layout, the config and the file');
  }

  const out = new Map<string, tf.Tensor>();
  try {
    for (const rule of rules) {
      const shape = canonical.get(rule.to)!;
      const parts: Float32Array[] = [];
      for (const name of rule.from) parts.push(toFloat32(await ckpt.where.get(name)!.read(name)));
      let data: Float32Array;
      if (rule.op === 'copy') data = parts[0]!;
      else if (rule.op === 'transpose') data = transpose2d(parts[0]!, shape[1]!, shape[0]!);
      else {
        data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
        let off = 0;
        for (const p of parts) { data.set(p, off); off += p.length; }
      }
      out.set(rule.to, tf.tensor(data, shape, 'float32'));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hashing

/** sha256 (hex) of the bytes of `files` in order, streamed. */
async function sha256Files(files: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) {
    for await (const chunk of createReadStream(f, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// loadClip

async function resolveTokenizer(given: LoadClipOptions['tokenizer'], dir: string): Promise<ClipTokenizer | undefined> {
  if (given && typeof given !== 'string') return given;
  if (typeof given === 'string') return loadTokenizer(given);
  for (const f of ['tokenizer.json', BPE_VOCAB_FILE]) if (existsSync(path.join(dir, f))) return loadTokenizer(path.join(dir, f));
  return undefined;
}

async function loadHfDir(dir: string, source: string, opts: LoadClipOptions): Promise<ClipModel> {
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) {
    throw new FormatError(`${dir} has no config.json`, `a Hugging Face CLIP directory holds ${HF_MODEL_FILES.join(', ')}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw new FormatError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  const config = opts.config ? normalizeConfig(opts.config, 'options.config') : configFromHf(json, configPath);
  return build(await hfWeightFiles(dir), hfLayout, config, source, await resolveTokenizer(opts.tokenizer, dir));
}

/** The weight files of a Hugging Face directory: model.safetensors, or its shards in name order. */
async function hfWeightFiles(dir: string): Promise<string[]> {
  const index = path.join(dir, SHARD_INDEX);
  if (existsSync(path.join(dir, 'model.safetensors'))) return [path.join(dir, 'model.safetensors')];
  if (existsSync(index)) {
    const map = (JSON.parse(await readFile(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
    if (!map) throw new FormatError(`${index}: no weight_map`);
    return [...new Set(Object.values(map))].sort().map((f) => path.join(dir, f));
  }
  throw new FormatError(`${dir} has no model.safetensors`,
    'download model.safetensors from the model page (PyTorch .bin weights are not read: convert them to safetensors)');
}

/**
 * The `weightsHash` a model at `pathOrDir` (a Hugging Face directory or a .safetensors file) loads
 * with, without loading it: the sha256 of its weight file, or of its shards' bytes in order.
 */
export async function weightsHashOf(pathOrDir: string): Promise<string> {
  return sha256Files(statSync(pathOrDir).isDirectory() ? await hfWeightFiles(pathOrDir) : [pathOrDir]);
}

async function loadSafetensorsFile(file: string, source: string, opts: LoadClipOptions): Promise<ClipModel> {
  const dir = path.dirname(file);
  let plan: { layout: CheckpointLayout; config: ClipConfig } | 'hf-dir';
  const ckpt = await Checkpoint.open([file]);
  try {
    const names = ckpt.names;
    if (isHfLayout(names)) {
      if (!opts.config && !existsSync(path.join(dir, 'config.json'))) {
        throw new FormatError(`${file} holds Hugging Face CLIPModel tensors but there is no config.json beside it`,
          'load the directory holding config.json and model.safetensors, or pass the config');
      }
      plan = opts.config ? { layout: hfLayout, config: normalizeConfig(opts.config, 'options.config') } : 'hf-dir';
    } else {
      const prefix = detectOpenAIPrefix(names);
      if (prefix === undefined) {
        throw new FormatError(`${file} holds neither an OpenAI / open_clip CLIP state dict nor a Hugging Face CLIPModel`,
          `found e.g. ${names.slice(0, 5).join(', ')}; expected names like visual.conv1.weight, token_embedding.weight`);
      }
      const meta = ckpt.metadata();
      const shapes = new Map([...ckpt.shapes()].map(([n, s]) => [n.slice(prefix.length), s]));
      const where = `${file} __metadata__`;
      const config = opts.config ? normalizeConfig(opts.config, 'options.config')
        : configFromMetadata(meta, where) ?? inferConfigFromShapes(shapes, {
          ...headsFromMetadata(meta, where),
          ...(opts.textHeads ? { textHeads: opts.textHeads } : {}),
          ...(opts.visionHeads ? { visionHeads: opts.visionHeads } : {}),
        }, file);
      plan = { layout: openaiLayout(prefix), config };
    }
  } finally {
    await ckpt.close();
  }
  if (plan === 'hf-dir') return loadHfDir(dir, source, opts);
  return build([file], plan.layout, plan.config, source, await resolveTokenizer(opts.tokenizer, dir));
}

async function build(files: string[], layout: CheckpointLayout, config: ClipConfig, source: string, tokenizer: ClipTokenizer | undefined): Promise<ClipModel> {
  const ckpt = await Checkpoint.open(files);
  let weights: Map<string, tf.Tensor>;
  try {
    weights = await readCanonicalWeights(ckpt, layout, config);
  } finally {
    await ckpt.close();
  }
  const weightsHash = await sha256Files(files);
  return await createClip({ config, weights, weightsHash, source, tokenizer });
}

/**
 * Loads a CLIP from a Hugging Face directory, an OpenAI-layout `.safetensors` file, or a hub id
 * (see the module comment). The tokenizer is `options.tokenizer`, else `tokenizer.json` or
 * CLIP's BPE merges file beside the weights, else none (the model's `tokenizer` getter then throws).
 */
export async function loadClip(pathOrId: string, options: LoadClipOptions = {}): Promise<ClipModel> {
  if (existsSync(pathOrId)) {
    const abs = path.resolve(pathOrId);
    if (statSync(abs).isDirectory()) return loadHfDir(abs, pathOrId, options);
    if (abs.endsWith('.safetensors')) return loadSafetensorsFile(abs, pathOrId, options);
    throw new FormatError(`${pathOrId} is not a .safetensors file or a model directory`,
      'PyTorch .pt/.bin checkpoints are not read: convert them to safetensors (safetensors.torch.save_file(model.state_dict(), ...))');
  }
  if (isHubId(pathOrId)) {
    const dir = await resolveHubModel(pathOrId, options);
    return loadHfDir(dir, pathOrId, options);
  }
  throw new DamplError(`no such file or directory: ${pathOrId}`,
    'give a Hugging Face CLIP directory, an OpenAI-layout .safetensors file, or a hub id like openai/clip-vit-base-patch16');
}
