/**
 * The synthetic CLIP's pre-training settings: the nested config `pretrainSynthClip` takes, and
 * the flat schema the command line reads (each key with its default and source).
 */
import { ConfigError, defineSchema, schemaDefaults, type ConfigOf } from '@dampl/runtime';
import type { ClipConfig } from '@dampl/clip';
import type { SynthDomain } from './style-types.js';

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
  /**
   * Augmentation of each pretraining image besides a horizontal flip with probability 1/2: a
   * square crop of side `scale` x R (`scale` uniform in [`minScale`, 1]) whose centre is moved by
   * an integer number of pixels in [-`shift`, `shift`] on each axis, read with edge clamping and
   * resized back to R bilinearly (with `minScale` 1 the crop is an exact translation).
   */
  augment: { shift: number; minScale: number };
}

const PROJECT = 'this project';

/**
 * The pre-training settings, flat, with their sources: the command line of
 * `nx run synth:pretrain` takes each key as an option (`--steps 100`, `--share-sketch 0.3`).
 * Every default is this project's choice for a 48-wide CLIP that trains in about an hour on two
 * CPU cores and leaves the target domains (sketch, painting) hard for zero-shot.
 */
export const synthPretrainSchema = defineSchema({
  worldSeed: { type: 'integer', default: 0, min: 0, doc: 'seed of the generated world (the benchmark uses world 0)', source: `${PROJECT}: the committed world` },
  seed: { type: 'integer', default: 0, min: 0, doc: 'seed of initialisation, sampling and augmentation', source: PROJECT },
  perClass: { type: 'integer', default: 400, min: 1, doc: 'pre-training images generated per class and domain (before the shares)', source: `${PROJECT}: 19,200 images in all` },
  sharePhoto: { type: 'number', default: 1, min: 0, max: 1, doc: 'fraction of the photo images used', source: `${PROJECT}: web data is mostly photos` },
  shareClipart: { type: 'number', default: 0.6, min: 0, max: 1, doc: 'fraction of the clipart images used', source: PROJECT },
  sharePainting: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'fraction of the painting images used', source: PROJECT },
  shareSketch: { type: 'number', default: 0.4, min: 0, max: 1, doc: 'fraction of the sketch images used', source: `${PROJECT}: the rarest style, so that adaptation has something to gain` },
  embedDim: { type: 'integer', default: 48, min: 1, doc: 'joint embedding width', source: PROJECT },
  width: { type: 'integer', default: 48, min: 4, doc: 'width of both towers (a multiple of heads)', source: PROJECT },
  layers: { type: 'integer', default: 2, min: 1, doc: 'depth of both towers', source: PROJECT },
  heads: { type: 'integer', default: 4, min: 1, doc: 'attention heads of both towers', source: PROJECT },
  patchSize: { type: 'integer', default: 4, min: 1, doc: 'ViT patch side in pixels (images are 32 x 32)', source: `${PROJECT}: 64 patches` },
  steps: { type: 'integer', default: 2800, min: 1, doc: 'optimizer steps', source: PROJECT },
  batchSize: { type: 'integer', default: 64, min: 2, doc: 'image-text pairs per step', source: PROJECT },
  lr: { type: 'number', default: 2e-3, min: 0, doc: 'AdamW peak learning rate (cosine decay after the warm-up)', source: PROJECT },
  warmupSteps: { type: 'integer', default: 150, min: 0, doc: 'linear warm-up steps', source: 'CLIP (Radford et al. 2021, appendix F) warms up linearly; the length is this project\'s' },
  evalEvery: { type: 'integer', default: 700, min: 0, doc: 'zero-shot evaluation on the adapt split every this many steps (0: only at the end)', source: PROJECT },
  shortCaption: { type: 'number', default: 0.8, min: 0, max: 1, doc: "probability that a pair uses the short caption '<style> of a <class>.'", source: `${PROJECT}: web captions are often short` },
  shift: { type: 'integer', default: 3, min: 0, doc: 'augmentation: crop centre moved by up to this many pixels on each axis', source: PROJECT },
  minScale: { type: 'number', default: 1, min: 0.1, max: 1, doc: 'augmentation: crop side at least this fraction of the image (1: translations only)', source: PROJECT },
});

export type SynthPretrainSettings = ConfigOf<typeof synthPretrainSchema>;

/** The nested config `pretrainSynthClip` takes, from the flat settings. */
export function synthPretrainConfig(s: SynthPretrainSettings): SynthPretrainConfig {
  if (s.width % s.heads) throw new ConfigError(`width ${s.width} is not a multiple of heads ${s.heads}`, 'choose a width divisible by the number of heads');
  if (32 % s.patchSize) throw new ConfigError(`patchSize ${s.patchSize} does not divide the 32-pixel images`, 'use 2, 4, 8, 16 or 32');
  return {
    worldSeed: s.worldSeed,
    seed: s.seed,
    perClass: s.perClass,
    domainShare: { photo: s.sharePhoto, clipart: s.shareClipart, painting: s.sharePainting, sketch: s.shareSketch },
    model: {
      embedDim: s.embedDim,
      vision: { kind: 'vit', imageSize: 32, patchSize: s.patchSize, width: s.width, layers: s.layers, heads: s.heads },
      text: { contextLength: 77, vocabSize: 0, width: s.width, heads: s.heads, layers: s.layers },
    },
    steps: s.steps,
    batchSize: s.batchSize,
    lr: s.lr,
    warmupSteps: s.warmupSteps,
    evalEvery: s.evalEvery,
    shortCaption: s.shortCaption,
    augment: { shift: s.shift, minScale: s.minScale },
  };
}

export const SYNTH_PRETRAIN_DEFAULTS: SynthPretrainConfig = synthPretrainConfig(schemaDefaults(synthPretrainSchema));
