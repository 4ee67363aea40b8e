import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Rng } from '@dampl/runtime';
import {
  CLIP_MEAN, CLIP_STD, ImageReadError, centerCropBox, clipPreprocess, decodeImage, loadImage, parsePreprocessorConfig,
  preprocessDescriptor, pyRound, randomResizedCropBox, readPreprocessorConfig, resizedSize, toNormalisedChw,
  type PreprocessConfig,
} from './preprocess.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'clip-pre-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A smooth RGB test image: R follows x, G follows y, B their sum. */
function gradient(width: number, height: number): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[i] = Math.round((255 * x) / (width - 1));
      buf[i + 1] = Math.round((255 * y) / (height - 1));
      buf[i + 2] = (buf[i]! + buf[i + 1]!) >> 1;
    }
  }
  return buf;
}

async function writeImage(name: string, raw: Buffer, width: number, height: number, channels: 1 | 3 | 4 = 3): Promise<string> {
  const file = path.join(dir, name);
  const img = sharp(raw, { raw: { width, height, channels } });
  const ext = path.extname(name);
  if (ext === '.png') await img.png().toFile(file);
  else if (ext === '.jpg') await img.jpeg({ quality: 95 }).toFile(file);
  else if (ext === '.webp') await img.webp({ lossless: true }).toFile(file);
  else throw new Error(ext);
  return file;
}

const identity: PreprocessConfig = { resize: 20, crop: 20, mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bicubic' };

describe('geometry', () => {
  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, 2.4, 2.6].map(pyRound)).toEqual([0, 2, 2, 4, 0, 2, 3]);
  });

  it('resizes the shortest side and truncates the other like torchvision', () => {
    expect(resizedSize(640, 480, 224)).toEqual({ width: 298, height: 224 });
    expect(resizedSize(480, 640, 224)).toEqual({ width: 224, height: 298 });
    expect(resizedSize(10, 15, 20)).toEqual({ width: 20, height: 30 });
    expect(centerCropBox(298, 224, 224)).toEqual({ left: 37, top: 0, width: 224, height: 224 });
    expect(centerCropBox(29, 20, 20).left).toBe(4);
    expect(centerCropBox(31, 20, 20).left).toBe(6);
  });

  it('draws random resized crops inside the image with the requested area range', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const b = randomResizedCropBox(120, 80, rng, [0.5, 1], [3 / 4, 4 / 3]);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left + b.width).toBeLessThanOrEqual(120);
      expect(b.top + b.height).toBeLessThanOrEqual(80);
      expect((b.width * b.height) / (120 * 80)).toBeGreaterThan(0.45);
    }
  });
});

describe('decoding', () => {
  it('decodes PNG, WebP (lossless, exact) and JPEG (close) to 8-bit RGB', async () => {
    const raw = gradient(64, 48);
    for (const name of ['g.png', 'g.webp', 'g.jpg']) {
      const img = await decodeImage(await writeImage(name, raw, 64, 48));
      expect([img.width, img.height, img.data.length], name).toEqual([64, 48, 64 * 48 * 3]);
      let err = 0;
      for (let i = 0; i < raw.length; i++) err = Math.max(err, Math.abs(raw[i]! - img.data[i]!));
      expect(err, name).toBeLessThanOrEqual(name.endsWith('.jpg') ? 12 : 0);
      const px = await loadImage(path.join(dir, name), clipPreprocess(32));
      expect(px).toHaveLength(3 * 32 * 32);
      expect(px.every(Number.isFinite)).toBe(true);
    }
  });

  it('gives the pixels @xenova/transformers RawImage.read gives for JPEG and PNG (same sharp)', async () => {
    const { RawImage } = await import('@xenova/transformers');
    for (const name of ['x.png', 'x.jpg']) {
      const file = await writeImage(name, gradient(40, 30), 40, 30);
      const theirs = await RawImage.read(file);
      const ours = await decodeImage(file);
      expect([theirs.width, theirs.height, theirs.channels]).toEqual([40, 30, 3]);
      expect(Buffer.from(theirs.data).equals(ours.data), name).toBe(true);
    }
  });

  it('turns grey into RGB and drops alpha', async () => {
    const grey = Buffer.alloc(8 * 6, 77);
    const g = await decodeImage(await writeImage('grey.png', grey, 8, 6, 1));
    expect(g.data.length).toBe(8 * 6 * 3);
    expect(new Set(g.data)).toEqual(new Set([77]));
    const rgba = Buffer.alloc(8 * 6 * 4);
    for (let i = 0; i < 8 * 6; i++) rgba.set([10, 20, 30, i], i * 4);
    const a = await decodeImage(await writeImage('alpha.png', rgba, 8, 6, 4));
    expect(Array.from(a.data.subarray(0, 6))).toEqual([10, 20, 30, 10, 20, 30]);
  });

  it('names the file when it cannot be read', async () => {
    const bad = path.join(dir, 'corrupt.jpg');
    writeFileSync(bad, Buffer.from('this is not a jpeg at all'));
    await expect(loadImage(bad, clipPreprocess(32))).rejects.toThrow(ImageReadError);
    await expect(loadImage(bad, clipPreprocess(32))).rejects.toThrow(bad);
    const good = await sharp(gradient(32, 32), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
    const cut = path.join(dir, 'truncated.png');
    writeFileSync(cut, good.subarray(0, good.length >> 1));
    await expect(loadImage(cut, clipPreprocess(32))).rejects.toThrow(cut);
    await expect(loadImage(path.join(dir, 'missing.png'), clipPreprocess(32))).rejects.toThrow(/missing\.png/);
  });
});

describe('CLIP transform', () => {
  it('centre-crops a non-square image at round((w - R) / 2)', async () => {
    for (const [w, left] of [[29, 4], [30, 5], [31, 6]] as const) {
      // column x has red = 8x: the crop's first column tells where it started
      const raw = Buffer.alloc(w * 20 * 3);
      for (let y = 0; y < 20; y++) for (let x = 0; x < w; x++) raw.set([8 * x, 5 * y, 99], (y * w + x) * 3);
      const px = await loadImage(await writeImage(`cols${w}.png`, raw, w, 20), identity);
      const R = 20;
      for (const x of [0, 7, 19]) {
        expect(Math.round(px[3 * R + x]! * 255), `w=${w} x=${x}`).toBe(8 * (x + left));
        expect(Math.round(px[R * R + 3 * R + x]! * 255)).toBe(15);
        expect(Math.round(px[2 * R * R + x]! * 255)).toBe(99);
      }
    }
    // tall image: the crop moves down by round((25 - 20) / 2) = 2
    const raw = Buffer.alloc(20 * 25 * 3);
    for (let y = 0; y < 25; y++) for (let x = 0; x < 20; x++) raw.set([0, 9 * y, 0], (y * 20 + x) * 3);
    const px = await loadImage(await writeImage('rows.png', raw, 20, 25), identity);
    expect(Math.round(px[400]! * 255)).toBe(18);
  });

  it('normalises with CLIP mean and std, channel-first RGB', async () => {
    const raw = Buffer.alloc(50 * 30 * 3);
    for (let i = 0; i < 50 * 30; i++) raw.set([128, 64, 32], i * 3);
    const px = await loadImage(await writeImage('solid.png', raw, 50, 30), clipPreprocess(16));
    const plane = 16 * 16;
    [128, 64, 32].forEach((v, c) => {
      const want = (v / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      for (const i of [0, 17, plane - 1]) expect(px[c * plane + i]).toBeCloseTo(want, 6);
    });
  });

  it('upscales small images before cropping', async () => {
    const px = await loadImage(await writeImage('small.png', gradient(10, 15), 10, 15), clipPreprocess(20));
    expect(px).toHaveLength(3 * 20 * 20);
  });

  it('mirrors rows when flipping', () => {
    const hwc = Uint8Array.from([0, 0, 0, 255, 255, 255]);
    const out = toNormalisedChw(hwc, 2, 1, [0, 0, 0], [1, 1, 1], true);
    expect(Array.from(out)).toEqual([1, 0, 1, 0, 1, 0]);
  });
});

describe('augmented views', () => {
  it('are reproducible from (seed, view, image) and differ between views', async () => {
    const file = await writeImage('aug.png', gradient(60, 40), 60, 40);
    const cfg = clipPreprocess(24);
    const aug = { seed: 7, scale: [0.5, 1] as const, ratio: [3 / 4, 4 / 3] as const, flip: true };
    const a = await loadImage(file, cfg, { index: 1, augment: aug }, 'cls/aug.png');
    const b = await loadImage(file, cfg, { index: 1, augment: aug }, 'cls/aug.png');
    const c = await loadImage(file, cfg, { index: 2, augment: aug }, 'cls/aug.png');
    const d = await loadImage(file, cfg, { index: 1, augment: { ...aug, seed: 8 } }, 'cls/aug.png');
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a)).not.toEqual(Array.from(d));
    expect(preprocessDescriptor(cfg, { index: 1, augment: aug })).toMatchObject({ crop: 'random-resized', view: 1 });
    expect(preprocessDescriptor(cfg)).toMatchObject({ crop: 'center', view: 0, size: 24 });
  });
});

describe('preprocessor_config.json', () => {
  it('reads sizes, mean and std in both HF layouts', async () => {
    const cfg = parsePreprocessorConfig({
      size: { shortest_edge: 40 }, crop_size: { height: 32, width: 32 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.25, 0.25, 0.25], resample: 3,
    });
    expect(cfg).toEqual({ resize: 40, crop: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], interpolation: 'bicubic' });
    const old = parsePreprocessorConfig({ size: 224, crop_size: 224, do_center_crop: true, do_normalize: true, resample: 3 });
    expect(old).toEqual(clipPreprocess(224));
    expect(() => parsePreprocessorConfig({ resample: 1 })).toThrow(ConfigError);
    expect(() => parsePreprocessorConfig({ size: { height: 20, width: 30 } })).toThrow(/size/);
  });

  it('reads the file from a model directory, falling back to CLIP defaults', async () => {
    const modelDir = mkdtempSync(path.join(dir, 'model-'));
    expect(await readPreprocessorConfig(modelDir, 64)).toEqual(clipPreprocess(64));
    writeFileSync(path.join(modelDir, 'preprocessor_config.json'), JSON.stringify({ size: 48, crop_size: 48, image_mean: [0, 0, 0], image_std: [1, 1, 1] }));
    expect(await readPreprocessorConfig(modelDir)).toMatchObject({ resize: 48, crop: 48, mean: [0, 0, 0] });
    const px = await loadImage(await writeImage('hf.png', gradient(60, 48), 60, 48), await readPreprocessorConfig(modelDir));
    expect(px).toHaveLength(3 * 48 * 48);
  });
});
