import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, FormatError, SafetensorsFile } from '@dampl/runtime';
import {
  configFromHf, configFromMetadata, configFromOpenAIKwargs, headsFromMetadata, inferConfigFromShapes,
  normalizeConfig, toOpenAIKwargs, type OpenAIClipKwargs,
} from './config.js';
import { clipWeightShapes } from './model.js';
import type { ClipConfig } from './types.js';
import { clipReferenceDir } from './testing/reference.js';

const VIT_B16: ClipConfig = {
  embedDim: 512,
  vision: { kind: 'vit', imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 },
  text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
};
const RN50: ClipConfig = {
  embedDim: 1024,
  vision: { kind: 'resnet', imageSize: 224, width: 64, layers: [3, 4, 6, 3], heads: 32 },
  text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 },
};

describe('config inferred from tensor shapes as build_model does', () => {
  it.each([['ViT-B/16', VIT_B16], ['RN50', RN50]] as const)('%s round-trips through its state-dict shapes', (_, cfg) => {
    const shapes = clipWeightShapes(cfg);
    expect(inferConfigFromShapes(shapes)).toEqual(cfg);
  });

  it('RN50 has the reference parameter count (102,007,137, BatchNorm running statistics aside)', () => {
    let n = 0;
    for (const [name, s] of clipWeightShapes(RN50)) if (!/running_(mean|var)$/.test(name)) n += s.reduce((a, b) => a * b, 1);
    expect(n).toBe(102_007_137);
  });

  it('ViT-B/16 has the reference parameter count (149,620,737)', () => {
    let n = 0;
    for (const s of clipWeightShapes(VIT_B16).values()) n += s.reduce((a, b) => a * b, 1);
    expect(n).toBe(149_620_737);
  });

  it('asks for the text heads when the width does not split into heads of 64', () => {
    const cfg: ClipConfig = { ...VIT_B16, text: { ...VIT_B16.text, width: 32, heads: 4 } };
    const shapes = clipWeightShapes(cfg);
    expect(() => inferConfigFromShapes(shapes)).toThrow(ConfigError);
    expect(() => inferConfigFromShapes(shapes)).toThrow(/textHeads/);
    expect(inferConfigFromShapes(shapes, { textHeads: 4 })).toEqual(cfg);
  });

  it('names a tensor it needs and does not find', () => {
    const shapes = clipWeightShapes(VIT_B16);
    shapes.delete('ln_final.weight');
    expect(() => inferConfigFromShapes(shapes, {}, 'x.safetensors')).toThrow(/x.safetensors: missing tensor 'ln_final.weight'/);
  });
});

describe('OpenAI constructor arguments', () => {
  const kwargs: OpenAIClipKwargs = {
    embed_dim: 512, image_resolution: 224, vision_layers: 12, vision_width: 768, vision_patch_size: 16,
    context_length: 77, vocab_size: 49408, transformer_width: 512, transformer_heads: 8, transformer_layers: 12,
  };

  it('derive the vision heads as CLIP does', () => {
    expect(configFromOpenAIKwargs(kwargs)).toEqual(VIT_B16);
    expect(toOpenAIKwargs(VIT_B16)).toEqual(kwargs);
    expect(configFromOpenAIKwargs(toOpenAIKwargs(RN50))).toEqual(RN50);
  });

  it('reject an unknown key by name', () => {
    expect(() => normalizeConfig({ ...kwargs, vision_head: 3 } as never)).toThrow(/unknown key 'vision_head'/);
    expect(() => normalizeConfig({ ...VIT_B16, text: { ...VIT_B16.text, hidden: 1 } } as never)).toThrow(/config.text: unknown key 'hidden'/);
  });

  it('reject heads that do not divide the width', () => {
    expect(() => normalizeConfig({ ...kwargs, transformer_heads: 7 })).toThrow(/text.heads \(7\) must divide text.width \(512\)/);
  });

  it('come from safetensors metadata', () => {
    expect(configFromMetadata({ clip_kwargs: JSON.stringify(kwargs) })).toEqual(VIT_B16);
    expect(configFromMetadata({})).toBeUndefined();
    expect(headsFromMetadata({ transformer_heads: '4', vision_heads: '2' })).toEqual({ textHeads: 4, visionHeads: 2 });
    expect(() => headsFromMetadata({ transformer_heads: 'four' })).toThrow(FormatError);
  });
});

describe('Hugging Face config.json', () => {
  it('fills missing fields with CLIPConfig defaults (ViT-B/32)', () => {
    const cfg = configFromHf({ model_type: 'clip', text_config: {}, vision_config: {} });
    expect(cfg).toEqual({ ...VIT_B16, vision: { ...VIT_B16.vision, patchSize: 32 } });
  });

  it('reads the older *_config_dict fields', () => {
    const cfg = configFromHf({ text_config_dict: { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12 }, vision_config: { patch_size: 16 } });
    expect(cfg.text.width).toBe(768);
    expect(cfg.text.heads).toBe(12);
    expect(cfg.vision.patchSize).toBe(16);
  });

  it('refuses what OpenAI CLIP cannot express', () => {
    expect(() => configFromHf({ text_config: { hidden_act: 'gelu' } })).toThrow(/text_config.hidden_act is 'gelu'/);
    expect(() => configFromHf({ vision_config: { intermediate_size: 100 } })).toThrow(/intermediate_size/);
    expect(() => configFromHf({ model_type: 'siglip' })).toThrow(FormatError);
  });
});

const dir = await clipReferenceDir();

describe('the reference checkpoints', () => {
  const golden = (set: string) => JSON.parse(readFileSync(path.join(dir, set, 'golden.json'), 'utf8')) as { clip_kwargs: OpenAIClipKwargs };

  it.each(['vit-tiny', 'rn-tiny'])('%s: shapes plus its 4 text heads give golden.json clip_kwargs', async (set) => {
    const f = await SafetensorsFile.open(path.join(dir, set, 'openai.safetensors'));
    const shapes = new Map(f.names.map((n) => [n, f.entry(n).shape]));
    await f.close();
    const want = configFromOpenAIKwargs(golden(set).clip_kwargs);
    expect(inferConfigFromShapes(shapes, { textHeads: 4 })).toEqual(want);
    expect(() => inferConfigFromShapes(shapes)).toThrow(ConfigError);
  });

  it('vit-tiny/hf/config.json gives the same config as clip_kwargs', () => {
    const json = JSON.parse(readFileSync(path.join(dir, 'vit-tiny/hf/config.json'), 'utf8'));
    expect(configFromHf(json)).toEqual(configFromOpenAIKwargs(golden('vit-tiny').clip_kwargs));
  });
});
