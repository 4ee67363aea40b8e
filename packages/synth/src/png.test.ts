import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodePng } from './png.js';
import { renderSynthImage } from './render.js';

describe('encodePng', () => {
  it('writes a PNG that decodes to the same pixels', async () => {
    for (const [w, h] of [[64, 64], [7, 3], [1, 1]] as const) {
      const rgb = new Uint8Array(w * h * 3);
      for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 5) * 11) & 0xff;
      const png = encodePng(rgb, w, h);
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([w, h, 3]);
      expect(Buffer.from(data).equals(Buffer.from(rgb))).toBe(true);
    }
  });

  it('gives the same bytes for the same image', async () => {
    const { rgb } = renderSynthImage({ cls: 'sailboat', domain: 'painting', seed: 3 });
    const a = encodePng(rgb, 64, 64);
    const b = encodePng(renderSynthImage({ cls: 'sailboat', domain: 'painting', seed: 3 }).rgb, 64, 64);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const { data } = await sharp(a).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.from(data).equals(Buffer.from(rgb))).toBe(true);
  });

  it('rejects a buffer of the wrong length', () => {
    expect(() => encodePng(new Uint8Array(10), 2, 2)).toThrow(/expected 12 bytes/);
  });
});
