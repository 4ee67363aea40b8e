/**
 * Writes a ViT CLIP as a Hugging Face `CLIPModel` directory (`config.json`, `model.safetensors`,
 * `preprocessor_config.json`, and the tokenizer files when a vocabulary is given), the layout
 * `loadClip` reads and transformers' `CLIPModel.from_pretrained` accepts. The weight names come
 * from the same mapping table the loader uses (weights/hf.ts), applied in reverse.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { atomicWriteFile, DamplError, readFloat32, writeSafetensors, type SafeTensor } from '@dampl/runtime';
import type { ClipConfig, ClipModel } from './types.js';
import { hfRule } from './weights/hf.js';
import { CLIP_MEAN, CLIP_STD } from './preprocess.js';
import { type BpeVocab } from './bpe.js';
import { writeHfTokenizerFiles } from './hf-tokenizer.js';

/** The `config.json` of a ViT CLIP in transformers' CLIPConfig form. */
function hfConfigJson(c: ClipConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (c.vision.kind !== 'vit' || typeof c.vision.layers !== 'number') {
    throw new DamplError('only ViT CLIPs have a Hugging Face layout', 'save a ModifiedResNet CLIP in the OpenAI layout');
  }
  const common = { hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, projection_dim: c.embedDim };
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: c.embedDim,
    logit_scale_init_value: 2.6592,
    text_config: {
      ...common,
      hidden_size: c.text.width,
      intermediate_size: 4 * c.text.width,
      num_attention_heads: c.text.heads,
      num_hidden_layers: c.text.layers,
      max_position_embeddings: c.text.contextLength,
      vocab_size: c.text.vocabSize,
      bos_token_id: c.text.vocabSize - 2,
      eos_token_id: c.text.vocabSize - 1,
      pad_token_id: 1,
    },
    vision_config: {
      ...common,
      hidden_size: c.vision.width,
      intermediate_size: 4 * c.vision.width,
      num_attention_heads: c.vision.heads,
      num_hidden_layers: c.vision.layers,
      image_size: c.vision.imageSize,
      patch_size: c.vision.patchSize,
      num_channels: 3,
    },
    ...extra,
  };
}

/** Canonical tensors -> Hugging Face tensors (F32), by the loader's table in reverse; read from the device. */
async function toHfTensors(canonical: Map<string, tf.Tensor>): Promise<Map<string, SafeTensor>> {
  const names: string[] = [];
  const parts: tf.Tensor[] = [];
  const owned: tf.Tensor[] = [];
  try {
    for (const [name, t] of canonical) {
      const rule = hfRule(name);
      if (!rule) throw new DamplError(`no Hugging Face name for '${name}'`, 'only ViT CLIPs have a Hugging Face layout');
      if (rule.op === 'copy') {
        names.push(rule.from[0]!);
        parts.push(t);
      } else {
        const made = rule.op === 'transpose' ? [tf.transpose(t)] : tf.split(t, rule.from.length, 0);
        owned.push(...made);
        made.forEach((m, i) => { names.push(rule.from[i]!); parts.push(m); });
      }
    }
    // one read per tensor, side by side (joining them first would hold a second copy of the model)
    const values = await Promise.all(parts.map(async (p) => (await readFloat32([p]))[0]!));
    return new Map(names.map((n, i) => [n, { dtype: 'F32', shape: [...parts[i]!.shape], data: values[i]! }]));
  } finally {
    tf.dispose(owned);
  }
}

export interface SaveHfOptions {
  /** Vocabulary for tokenizer.json and friends (e.g. from `trainBpe`). */
  vocab?: BpeVocab;
  /** Recorded in config.json under `dampl` (how the model was made). */
  provenance?: Record<string, unknown>;
}

export async function saveClipHf(dir: string, model: ClipModel, opts: SaveHfOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = model.weights();
  const tensors = await toHfTensors(weights);
  const json = (o: unknown) => JSON.stringify(o, null, 2) + '\n';
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await atomicWriteFile(path.join(dir, 'config.json'), json(hfConfigJson(model.config, opts.provenance ? { dampl: opts.provenance } : {})));
  const r = model.config.vision.imageSize;
  await atomicWriteFile(path.join(dir, 'preprocessor_config.json'), json({
    crop_size: { height: r, width: r },
    do_center_crop: true,
    do_normalize: true,
    do_resize: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_convert_rgb: true,
    image_mean: [...CLIP_MEAN],
    image_std: [...CLIP_STD],
    image_processor_type: 'CLIPImageProcessor',
    feature_extractor_type: 'CLIPFeatureExtractor',
    processor_class: 'CLIPProcessor',
    resample: 3,
    size: { shortest_edge: r },
  }));
  if (opts.vocab) await writeHfTokenizerFiles(dir, opts.vocab);
}
