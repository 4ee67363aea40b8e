/**
 * CLIP's image preprocessing, as openai/CLIP's `_transform(n_px)`:
 *
 *   Resize(n_px, BICUBIC) -> CenterCrop(n_px) -> RGB -> ToTensor() -> Normalize(mean, std)
 *
 * giving [3, R, R] float32 pixels (CHW). Images are decoded and resampled by sharp (libvips).
 *
 * Differences from torchvision on PIL, the reference:
 *   - Both use a Catmull-Rom cubic (PIL's bicubic a = -0.5 is sharp's `cubic`) widened by the
 *     scale factor when shrinking, on 8-bit pixels. libvips shrinks by a box filter first when
 *     the factor exceeds 2 and rounds its fixed-point sums differently, so single pixels can
 *     differ by a level or two of 255; sharp's JPEG shrink-on-load is turned off.
 *   - sharp converts an embedded ICC profile to sRGB; PIL ignores it. EXIF orientation is ignored
 *     by both (no auto-rotation).
 *   - Alpha is dropped without compositing, as PIL's `convert('RGB')` does.
 *   - Centre crop offsets use torchvision's `round((h - R) / 2)` with Python's round-half-to-even;
 *     Hugging Face's CLIPImageProcessor floors instead, so an odd margin can move the crop by one
 *     pixel against HF.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ConfigError, DamplError, FormatError, Rng } from '@dampl/runtime';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export type Interpolation = 'bicubic' | 'bilinear';

export interface PreprocessConfig {
  /** Length of the shortest side after resizing (torchvision `Resize(int)`). */
  resize: number;
  /** Side of the square centre crop R. */
  crop: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: Interpolation;
}

/** CLIP's preprocessing for input resolution `size` (224 for ViT-B/16). */
export function clipPreprocess(size: number): PreprocessConfig {
  return { resize: size, crop: size, mean: CLIP_MEAN, std: CLIP_STD, interpolation: 'bicubic' };
}

/**
 * A random resized crop and horizontal flip (torchvision's RandomResizedCrop +
 * RandomHorizontalFlip), for extra training views of an image. `scale` defaults to (0.5, 1)
 * rather than torchvision's (0.08, 1): views stay recognisable, since the features they give are
 * cached and used as they are. The crop is resized to R x R with the config's interpolation.
 */
export interface AugmentConfig {
  seed: number;
  /** Range of the crop's area as a fraction of the image's. */
  scale: readonly [number, number];
  /** Range of the crop's aspect ratio w / h (sampled log-uniformly). */
  ratio: readonly [number, number];
  /** Flip horizontally with probability 0.5. */
  flip: boolean;
}

export const DEFAULT_AUGMENT: AugmentConfig = { seed: 0, scale: [0.5, 1], ratio: [3 / 4, 4 / 3], flip: true };

/**
 * The training augmentation of DAPL's dataset configs, INPUT.TRANSFORMS
 * ["random_resized_crop", "random_flip", "normalize"], with Dassl's defaults
 * (dassl/config/defaults.py: INPUT.RRCROP_SCALE (0.08, 1.0); the ratio is torchvision's default
 * (3/4, 4/3), which Dassl's random_resized_crop leaves as it is; flip with probability 0.5) and
 * the bicubic interpolation of CLIP's preprocessing, which DAPL's trainer configs set.
 */
export const DAPL_AUGMENT: AugmentConfig = { seed: 0, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true };

/**
 * Which view of an image to produce: view 0 is CLIP's deterministic centre crop; view k >= 1 is
 * the k-th augmented view, drawn from an Rng seeded by (augment.seed, k, image key), so the
 * same view of the same image is the same in every run.
 */
export interface ViewSpec {
  index: number;
  augment?: AugmentConfig;
}

/** Everything that changes the pixels, for cache keys. */
export function preprocessDescriptor(cfg: PreprocessConfig, view: ViewSpec = { index: 0 }): Record<string, unknown> {
  const aug = view.index > 0 ? (view.augment ?? DEFAULT_AUGMENT) : undefined;
  return {
    decoder: 'sharp',
    resize: cfg.resize,
    crop: aug ? 'random-resized' : 'center',
    size: cfg.crop,
    mean: [...cfg.mean],
    std: [...cfg.std],
    interpolation: cfg.interpolation,
    view: view.index,
    ...(aug ? { augment: { seed: aug.seed, scale: [...aug.scale], ratio: [...aug.ratio], flip: aug.flip } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Hugging Face preprocessor_config.json

const PIL_RESAMPLE: Record<number, Interpolation> = { 2: 'bilinear', 3: 'bicubic' };

function sideOf(v: unknown, key: string, where: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.shortest_edge === 'number') return o.shortest_edge;
    if (typeof o.height === 'number' && o.height === o.width) return o.height;
  }
  throw new ConfigError(`${where}: '${key}' is ${JSON.stringify(v)}; expected an integer, {shortest_edge} or a square {height, width}`);
}

function triple(v: unknown, key: string, where: string): [number, number, number] {
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as [number, number, number];
  throw new ConfigError(`${where}: '${key}' must be three numbers, got ${JSON.stringify(v)}`);
}

/** Parses a Hugging Face CLIP `preprocessor_config.json` object. */
export function parsePreprocessorConfig(raw: Record<string, unknown>, where = 'preprocessor_config.json'): PreprocessConfig {
  if (raw.do_resize === false) throw new ConfigError(`${where}: do_resize=false is not supported`, 'CLIP resizes the shortest side; remove the key');
  if (raw.do_center_crop === false) throw new ConfigError(`${where}: do_center_crop=false is not supported`, 'CLIP centre-crops to a square; remove the key');
  if (raw.do_rescale === false || (raw.rescale_factor !== undefined && Math.abs(Number(raw.rescale_factor) - 1 / 255) > 1e-9)) {
    throw new ConfigError(`${where}: only rescaling by 1/255 is supported`);
  }
  const resize = sideOf(raw.size ?? 224, 'size', where);
  const crop = sideOf(raw.crop_size ?? resize, 'crop_size', where);
  if (crop > resize) throw new ConfigError(`${where}: crop_size ${crop} exceeds size ${resize}`);
  const resample = raw.resample === undefined ? 3 : Number(raw.resample);
  const interpolation = PIL_RESAMPLE[resample];
  if (!interpolation) throw new ConfigError(`${where}: resample=${String(raw.resample)} is not supported`, 'use 3 (bicubic) or 2 (bilinear)');
  const normalize = raw.do_normalize !== false;
  return {
    resize,
    crop,
    mean: normalize ? triple(raw.image_mean ?? CLIP_MEAN, 'image_mean', where) : [0, 0, 0],
    std: normalize ? triple(raw.image_std ?? CLIP_STD, 'image_std', where) : [1, 1, 1],
    interpolation,
  };
}

/** Reads `preprocessor_config.json` from a file or a model directory; CLIP's defaults for `fallbackSize` when absent. */
export async function readPreprocessorConfig(fileOrDir: string, fallbackSize?: number): Promise<PreprocessConfig> {
  const file = existsSync(fileOrDir) && statSync(fileOrDir).isDirectory() ? path.join(fileOrDir, 'preprocessor_config.json') : fileOrDir;
  if (!existsSync(file)) {
    if (fallbackSize !== undefined) return clipPreprocess(fallbackSize);
    throw new DamplError(`no preprocessor config at ${file}`, 'pass the model directory of a Hugging Face CLIP, or the input size');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new FormatError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new FormatError(`${file}: expected a JSON object`);
  return parsePreprocessorConfig(raw as Record<string, unknown>, file);
}

// ---------------------------------------------------------------------------------------------
// Geometry

/** Python's round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision Resize(size) for an int size: shortest side to `size`, the other `int(size * long / short)`. */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

export interface Box { left: number; top: number; width: number; height: number }

/** torchvision CenterCrop: top = round((h - R) / 2), left = round((w - R) / 2). */
export function centerCropBox(width: number, height: number, size: number): Box {
  return { left: pyRound((width - size) / 2), top: pyRound((height - size) / 2), width: size, height: size };
}

/** torchvision RandomResizedCrop.get_params: 10 tries, then a centre crop clamped to the ratio range. */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale: readonly [number, number], ratio: readonly [number, number]): Box {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = pyRound(Math.sqrt(target * aspect));
    const h = pyRound(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = pyRound(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = pyRound(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), width: w, height: h };
}

/** The Rng of view `index` of the image known as `imageKey`. */
function viewRng(seed: number, index: number, imageKey: string): Rng {
  return new Rng(seed).fork(`view ${index} ${imageKey}`);
}

// ---------------------------------------------------------------------------------------------
// Decoding and pixels

export interface DecodedImage {
  /** 8-bit RGB, row-major HWC. */
  data: Buffer;
  width: number;
  height: number;
}

/** An image file that cannot be decoded. */
export class ImageReadError extends DamplError {
  constructor(readonly file: string, reason: string) {
    super(`cannot read image ${file}: ${reason}`, 'the file is missing, corrupt or not an image; replace it, or pass --skip-bad to leave it out');
  }
}

/** Decodes a JPEG, PNG, WebP (or any format libvips reads) to 8-bit sRGB without alpha. */
export async function decodeImage(file: string): Promise<DecodedImage> {
  try {
    const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (e) {
    throw new ImageReadError(file, (e as Error).message.split('\n')[0] ?? String(e));
  }
}

const KERNEL = { bicubic: 'cubic', bilinear: 'linear' } as const;

/**
 * The [3, R, R] CHW float32 pixels of a decoded image for one view. `imageKey` seeds augmented
 * views (use a path relative to the dataset root so that a moved dataset gives the same views).
 */
export async function transformImage(img: DecodedImage, cfg: PreprocessConfig, view: ViewSpec = { index: 0 }, imageKey = ''): Promise<Float32Array> {
  const R = cfg.crop;
  let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  let flip = false;
  if (view.index === 0) {
    const size = resizedSize(img.width, img.height, cfg.resize);
    const box = centerCropBox(size.width, size.height, R);
    pipeline = pipeline
      .resize(size.width, size.height, { kernel: KERNEL[cfg.interpolation], fit: 'fill', fastShrinkOnLoad: false })
      .extract(box);
  } else {
    const aug = view.augment ?? DEFAULT_AUGMENT;
    const rng = viewRng(aug.seed, view.index, imageKey);
    const box = randomResizedCropBox(img.width, img.height, rng, aug.scale, aug.ratio);
    flip = aug.flip && rng.next() < 0.5;
    pipeline = pipeline.extract(box).resize(R, R, { kernel: KERNEL[cfg.interpolation], fit: 'fill', fastShrinkOnLoad: false });
  }
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== R || info.height !== R || info.channels !== 3) {
    throw new DamplError(`preprocessing produced ${info.width}x${info.height}x${info.channels}, expected ${R}x${R}x3`);
  }
  return toNormalisedChw(data, R, R, cfg.mean, cfg.std, flip);
}

/** HWC uint8 -> CHW float32 of (v / 255 - mean) / std, optionally mirrored left-right. */
export function toNormalisedChw(
  hwc: Uint8Array, width: number, height: number,
  mean: readonly number[], std: readonly number[], flip = false,
): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const lut = new Float32Array(3 * 256);
  // float32 at each step, as ToTensor() and Normalize() compute it
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = f(f(f(v / 255) - f(mean[c]!)) / f(std[c]!));
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + (flip ? width - 1 - x : x)) * 3;
      const dst = y * width + x;
      out[dst] = lut[hwc[src]!]!;
      out[plane + dst] = lut[256 + hwc[src + 1]!]!;
      out[2 * plane + dst] = lut[512 + hwc[src + 2]!]!;
    }
  }
  return out;
}

/** Reads one image file and returns its [3, R, R] CHW pixels; an unreadable file is an ImageReadError naming it. */
export async function loadImage(file: string, cfg: PreprocessConfig, view: ViewSpec = { index: 0 }, imageKey = file): Promise<Float32Array> {
  const img = await decodeImage(file);
  try {
    return await transformImage(img, cfg, view, imageKey);
  } catch (e) {
    if (e instanceof DamplError) throw e;
    throw new ImageReadError(file, (e as Error).message.split('\n')[0] ?? String(e));
  }
}
