/**
 * CLIP configurations: from a Hugging Face `config.json` (CLIPModel), from OpenAI's constructor
 * arguments (`clip_kwargs`), or inferred from the tensor shapes of an OpenAI-layout checkpoint the
 * way OpenAI's `build_model` does.
 *
 * Attention heads are the one thing shapes cannot tell. `build_model` takes
 * text heads = transformer_width // 64, ViT heads = vision_width // 64 and ResNet attention-pool
 * heads = vision_width * 32 // 64; every released CLIP follows that rule, so inference uses it.
 * Checkpoints that do not (e.g. the tiny reference models: width 32 with 4 text heads) give the
 * heads explicitly, in this order of precedence:
 *   1. a full config passed by the caller (`ClipConfig` or OpenAI `clip_kwargs`),
 *   2. `textHeads` / `visionHeads` passed by the caller,
 *   3. the safetensors `__metadata__`: `clip_kwargs` (JSON of the constructor arguments) or
 *      `transformer_heads` / `vision_heads`,
 *   4. the width // 64 rule; a width the rule does not divide into heads of 64 is an error that
 *      says to give the heads.
 */
import { ConfigError, FormatError } from '@dampl/runtime';
import type { ClipConfig, TextConfig, VisionConfig } from './types.js';

/** OpenAI's `CLIP(...)` constructor arguments (clip/model.py), as in golden.json `clip_kwargs`. */
export interface OpenAIClipKwargs {
  embed_dim: number;
  image_resolution: number;
  vision_layers: number | number[];
  vision_width: number;
  vision_patch_size: number | null;
  context_length: number;
  vocab_size: number;
  transformer_width: number;
  transformer_heads: number;
  transformer_layers: number;
  /** Not a constructor argument (CLIP derives it from vision_width); accepted to override the rule. */
  vision_heads?: number;
}

export interface HeadOverrides {
  textHeads?: number;
  visionHeads?: number;
}

const KWARG_KEYS = new Set([
  'embed_dim', 'image_resolution', 'vision_layers', 'vision_width', 'vision_patch_size', 'context_length',
  'vocab_size', 'transformer_width', 'transformer_heads', 'transformer_layers', 'vision_heads',
]);
const CONFIG_KEYS = new Set(['embedDim', 'vision', 'text']);
const VISION_KEYS = new Set(['kind', 'imageSize', 'width', 'layers', 'patchSize', 'heads']);
const TEXT_KEYS = new Set(['contextLength', 'vocabSize', 'width', 'heads', 'layers']);

/** Heads as OpenAI's `CLIP.__init__` derives them for the image tower. */
function defaultVisionHeads(kind: VisionConfig['kind'], width: number): number {
  return kind === 'resnet' ? Math.floor((width * 32) / 64) : Math.floor(width / 64);
}

/** Heads as OpenAI's `build_model` derives them for the text tower. */
function defaultTextHeads(width: number): number {
  return Math.floor(width / 64);
}

const isPosInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Checks every field and the constraints between them; throws ConfigError naming the field. */
export function validateConfig(c: ClipConfig, where = 'CLIP config'): ClipConfig {
  const bad = (field: string, why: string): never => {
    throw new ConfigError(`${where}: ${field} ${why}`, 'fix the config (or the checkpoint metadata) that gave this value');
  };
  if (!isPosInt(c.embedDim)) bad('embedDim', `must be a positive integer, got ${String(c.embedDim)}`);
  const v = c.vision;
  const t = c.text;
  if (!v || typeof v !== 'object') bad('vision', 'is missing');
  if (!t || typeof t !== 'object') bad('text', 'is missing');
  if (v.kind !== 'vit' && v.kind !== 'resnet') bad('vision.kind', `must be 'vit' or 'resnet', got ${String(v.kind)}`);
  for (const k of ['imageSize', 'width', 'heads'] as const) if (!isPosInt(v[k])) bad(`vision.${k}`, `must be a positive integer, got ${String(v[k])}`);
  for (const k of ['contextLength', 'vocabSize', 'width', 'heads', 'layers'] as const) {
    if (!isPosInt(t[k])) bad(`text.${k}`, `must be a positive integer, got ${String(t[k])}`);
  }
  if (t.width % t.heads !== 0) bad('text.heads', `(${t.heads}) must divide text.width (${t.width})`);
  if (v.kind === 'vit') {
    if (!isPosInt(v.layers)) bad('vision.layers', `must be a positive integer for a ViT, got ${JSON.stringify(v.layers)}`);
    if (!isPosInt(v.patchSize)) bad('vision.patchSize', `must be a positive integer for a ViT, got ${String(v.patchSize)}`);
    if (v.imageSize % v.patchSize! !== 0) bad('vision.imageSize', `(${v.imageSize}) must be a multiple of vision.patchSize (${v.patchSize})`);
    if (v.width % v.heads !== 0) bad('vision.heads', `(${v.heads}) must divide vision.width (${v.width})`);
  } else {
    if (!Array.isArray(v.layers) || v.layers.length !== 4 || !v.layers.every(isPosInt)) {
      bad('vision.layers', `must be four positive block counts for a ResNet, got ${JSON.stringify(v.layers)}`);
    }
    if (v.imageSize % 32 !== 0) bad('vision.imageSize', `(${v.imageSize}) must be a multiple of 32 for a ResNet`);
    if ((v.width * 32) % v.heads !== 0) bad('vision.heads', `(${v.heads}) must divide the attention-pool width ${v.width * 32}`);
    if (v.width % 2 !== 0) bad('vision.width', `(${v.width}) must be even for a ResNet stem`);
  }
  return c;
}

function checkKeys(obj: object, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new ConfigError(`${where}: unknown key '${k}'`, `allowed keys: ${[...allowed].join(', ')}`);
  }
}

/** A ClipConfig from OpenAI's constructor arguments; vision heads follow CLIP's rule unless given. */
export function configFromOpenAIKwargs(k: OpenAIClipKwargs, where = 'clip_kwargs'): ClipConfig {
  checkKeys(k, KWARG_KEYS, where);
  const resnet = Array.isArray(k.vision_layers);
  const kind = resnet ? 'resnet' : 'vit';
  const vision: VisionConfig = {
    kind,
    imageSize: k.image_resolution,
    width: k.vision_width,
    layers: resnet ? [...(k.vision_layers as number[])] : (k.vision_layers as number),
    heads: k.vision_heads ?? defaultVisionHeads(kind, k.vision_width),
  };
  if (!resnet) vision.patchSize = k.vision_patch_size ?? undefined;
  const text: TextConfig = {
    contextLength: k.context_length,
    vocabSize: k.vocab_size,
    width: k.transformer_width,
    heads: k.transformer_heads,
    layers: k.transformer_layers,
  };
  return validateConfig({ embedDim: k.embed_dim, vision, text }, where);
}

/** OpenAI's constructor arguments for a config (vision_heads included when it departs from the rule). */
export function toOpenAIKwargs(c: ClipConfig): OpenAIClipKwargs {
  const k: OpenAIClipKwargs = {
    embed_dim: c.embedDim,
    image_resolution: c.vision.imageSize,
    vision_layers: Array.isArray(c.vision.layers) ? [...c.vision.layers] : c.vision.layers,
    vision_width: c.vision.width,
    vision_patch_size: c.vision.kind === 'vit' ? c.vision.patchSize ?? null : null,
    context_length: c.text.contextLength,
    vocab_size: c.text.vocabSize,
    transformer_width: c.text.width,
    transformer_heads: c.text.heads,
    transformer_layers: c.text.layers,
  };
  if (c.vision.heads !== defaultVisionHeads(c.vision.kind, c.vision.width)) k.vision_heads = c.vision.heads;
  return k;
}

/** Accepts either a ClipConfig or OpenAI constructor arguments; unknown keys are errors. */
export function normalizeConfig(input: ClipConfig | OpenAIClipKwargs, where = 'config'): ClipConfig {
  if (input === null || typeof input !== 'object') throw new ConfigError(`${where}: expected an object`);
  if ('embed_dim' in input) return configFromOpenAIKwargs(input, where);
  checkKeys(input, CONFIG_KEYS, where);
  if (input.vision) checkKeys(input.vision, VISION_KEYS, `${where}.vision`);
  if (input.text) checkKeys(input.text, TEXT_KEYS, `${where}.text`);
  const c = input as ClipConfig;
  return validateConfig({
    embedDim: c.embedDim,
    vision: { ...c.vision, layers: Array.isArray(c.vision?.layers) ? [...c.vision.layers] : c.vision?.layers },
    text: { ...c.text },
  } as ClipConfig, where);
}

/** Hugging Face CLIPTextConfig / CLIPVisionConfig defaults (transformers' configuration_clip.py). */
const HF_TEXT_DEFAULTS = {
  vocab_size: 49408, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 12,
  num_attention_heads: 8, max_position_embeddings: 77, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5,
};
const HF_VISION_DEFAULTS = {
  hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12,
  num_channels: 3, image_size: 224, patch_size: 32, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5,
};

/**
 * A ClipConfig from a Hugging Face CLIPModel `config.json` (parsed). Only what OpenAI's CLIP can
 * express is accepted: QuickGELU, LayerNorm eps 1e-5, MLP width 4x, 3 input channels.
 */
export function configFromHf(json: unknown, where = 'config.json'): ClipConfig {
  const fail = (msg: string, hint?: string): never => { throw new FormatError(`${where}: ${msg}`, hint); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('is not a JSON object');
  const j = json as Record<string, unknown>;
  if (j.model_type !== undefined && j.model_type !== 'clip') {
    fail(`model_type is '${String(j.model_type)}', not 'clip'`, 'only CLIPModel checkpoints (e.g. openai/clip-vit-base-patch16) are supported');
  }
  const section = (name: string): Record<string, unknown> => {
    const a = j[name] ?? undefined;
    const b = j[`${name}_dict`] ?? undefined;
    if (a !== undefined && (a === null || typeof a !== 'object')) fail(`${name} is not an object`);
    if (b !== undefined && (b === null || typeof b !== 'object')) fail(`${name}_dict is not an object`);
    return { ...(b as object | undefined), ...(a as object | undefined) };
  };
  const tc = { ...HF_TEXT_DEFAULTS, ...section('text_config') } as Record<string, unknown>;
  const vc = { ...HF_VISION_DEFAULTS, ...section('vision_config') } as Record<string, unknown>;
  const num = (obj: Record<string, unknown>, sec: string, key: string): number => {
    const v = obj[key];
    if (!isPosInt(v)) fail(`${sec}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  for (const [sec, c] of [['text_config', tc], ['vision_config', vc]] as const) {
    if (c.hidden_act !== 'quick_gelu') {
      fail(`${sec}.hidden_act is '${String(c.hidden_act)}'`, "this port implements OpenAI's CLIP, whose activation is quick_gelu");
    }
    if (Math.abs(Number(c.layer_norm_eps) - 1e-5) > 1e-12) fail(`${sec}.layer_norm_eps is ${String(c.layer_norm_eps)}, expected 1e-05`);
    if (num(c, sec, 'intermediate_size') !== 4 * num(c, sec, 'hidden_size')) {
      fail(`${sec}.intermediate_size (${String(c.intermediate_size)}) is not 4 x hidden_size (${String(c.hidden_size)})`,
        "OpenAI's CLIP uses an MLP of 4x the width");
    }
  }
  if (vc.num_channels !== 3) fail(`vision_config.num_channels is ${String(vc.num_channels)}, expected 3`);
  const embedDim = j.projection_dim ?? 512;
  if (!isPosInt(embedDim)) fail(`projection_dim must be a positive integer, got ${JSON.stringify(embedDim)}`);
  const config: ClipConfig = {
    embedDim: embedDim as number,
    vision: {
      kind: 'vit',
      imageSize: num(vc, 'vision_config', 'image_size'),
      patchSize: num(vc, 'vision_config', 'patch_size'),
      width: num(vc, 'vision_config', 'hidden_size'),
      layers: num(vc, 'vision_config', 'num_hidden_layers'),
      heads: num(vc, 'vision_config', 'num_attention_heads'),
    },
    text: {
      contextLength: num(tc, 'text_config', 'max_position_embeddings'),
      vocabSize: num(tc, 'text_config', 'vocab_size'),
      width: num(tc, 'text_config', 'hidden_size'),
      heads: num(tc, 'text_config', 'num_attention_heads'),
      layers: num(tc, 'text_config', 'num_hidden_layers'),
    },
  };
  return validateConfig(config, where);
}

/** The shapes of an OpenAI-layout checkpoint, by tensor name. */
export type ShapeMap = ReadonlyMap<string, readonly number[]>;

/** Head overrides read from a safetensors `__metadata__` (`transformer_heads`, `vision_heads`). */
export function headsFromMetadata(meta: Record<string, string>, where = '__metadata__'): HeadOverrides {
  const out: HeadOverrides = {};
  for (const [key, field] of [['transformer_heads', 'textHeads'], ['vision_heads', 'visionHeads']] as const) {
    if (meta[key] === undefined) continue;
    const v = Number(meta[key]);
    if (!isPosInt(v)) throw new FormatError(`${where}: ${key} is '${meta[key]}', not a positive integer`);
    out[field] = v;
  }
  return out;
}

/** The full config in a safetensors `__metadata__` entry `clip_kwargs` (JSON), if present. */
export function configFromMetadata(meta: Record<string, string>, where = '__metadata__'): ClipConfig | undefined {
  if (meta.clip_kwargs === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(meta.clip_kwargs);
  } catch (e) {
    throw new FormatError(`${where}: clip_kwargs is not valid JSON (${(e as Error).message})`);
  }
  return normalizeConfig(parsed as OpenAIClipKwargs, `${where}.clip_kwargs`);
}

/**
 * Infers the config of an OpenAI-layout checkpoint from its tensor shapes, as OpenAI's
 * `build_model` does; heads come from `heads` where given, else from the width // 64 rule.
 */
export function inferConfigFromShapes(shapes: ShapeMap, heads: HeadOverrides = {}, where = 'checkpoint'): ClipConfig {
  const shape = (name: string): readonly number[] => {
    const s = shapes.get(name);
    if (!s) {
      throw new FormatError(`${where}: missing tensor '${name}', needed to infer the model's shape`,
        'is this an OpenAI / open_clip CLIP state dict? Pass an explicit config if it is one with other names');
    }
    return s;
  };
  const names = [...shapes.keys()];
  const count = (re: RegExp): number => new Set(names.map((n) => re.exec(n)?.[1]).filter((x) => x !== undefined)).size;

  let vision: VisionConfig;
  if (shapes.has('visual.proj')) {
    const conv = shape('visual.conv1.weight'); // [width, 3, p, p]
    const width = conv[0]!;
    const patchSize = conv[3]!;
    const grid = Math.round(Math.sqrt(shape('visual.positional_embedding')[0]! - 1));
    vision = {
      kind: 'vit', width, patchSize, imageSize: patchSize * grid,
      layers: count(/^visual\.transformer\.resblocks\.(\d+)\.attn\.in_proj_weight$/),
      heads: heads.visionHeads ?? defaultVisionHeads('vit', width),
    };
  } else {
    const layers = [1, 2, 3, 4].map((b) => count(new RegExp(`^visual\\.layer${b}\\.(\\d+)\\.`)));
    const width = shape('visual.layer1.0.conv1.weight')[0]!;
    const pos = shape('visual.attnpool.positional_embedding')[0]!;
    const out = Math.round(Math.sqrt(pos - 1));
    if (out * out + 1 !== pos) throw new FormatError(`${where}: visual.attnpool.positional_embedding has ${pos} rows, not a square grid plus one`);
    vision = {
      kind: 'resnet', width, layers, imageSize: out * 32,
      heads: heads.visionHeads ?? defaultVisionHeads('resnet', width),
    };
  }
  const textWidth = shape('ln_final.weight')[0]!;
  const textHeads = heads.textHeads ?? defaultTextHeads(textWidth);
  if (textHeads < 1 || textWidth % textHeads !== 0) {
    throw new ConfigError(`${where}: text width ${textWidth} does not split into heads of 64, so the number of text heads cannot be inferred`,
      "give it: loadClip(path, { textHeads }) or a full config, or the safetensors __metadata__ 'transformer_heads' / 'clip_kwargs'");
  }
  if (vision.heads < 1) {
    throw new ConfigError(`${where}: vision width ${vision.width} gives no attention heads by CLIP's rule`,
      "give them: loadClip(path, { visionHeads }) or a full config, or the safetensors __metadata__ 'vision_heads' / 'clip_kwargs'");
  }
  return validateConfig({
    embedDim: shape('text_projection')[1]!,
    vision,
    text: {
      contextLength: shape('positional_embedding')[0]!,
      vocabSize: shape('token_embedding.weight')[0]!,
      width: textWidth,
      heads: textHeads,
      layers: count(/^transformer\.resblocks\.(\d+)\./),
    },
  }, where);
}
