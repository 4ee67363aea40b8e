/**
 * The four domains of the synthetic world, modelled on Office-Home's and DomainNet's: each one
 * draws the same placed parts in its own way, with its own backgrounds and image-level effects.
 *
 * - photo: shaded parts (ellipsoid/panel lighting, specular highlight), a cast shadow, textured
 *   photo-like backgrounds (wooden table, grass and sky, studio, blurred room, fabric), exposure,
 *   white balance, vignetting and sensor noise.
 * - clipart: flat saturated fills with dark outlines on white or plain pastel backgrounds.
 * - sketch: pencil outlines only (hidden lines removed), wobbly doubled strokes, optional
 *   hatching, on paper.
 * - painting: colour-shifted parts filled with brush dabs, wobbly edges, busy stroked
 *   backgrounds, blur, impasto relief and a colour cast.
 */
import type { Rng } from '@dampl/runtime';
import { type ColourName, type RolePalette } from './colour.js';
import { gaussLike, valueNoise } from './noise.js';
import type { DrawContext, Placed, StyleParams, SynthDomain } from './style-types.js';
import { drawClipart } from './style-clipart.js';
import { drawPainting } from './style-painting.js';
import { drawPhoto } from './style-photo.js';
import { drawSketch } from './style-sketch.js';

export function sampleStyle(domain: SynthDomain, rng: Rng): StyleParams {
  switch (domain) {
    case 'photo': {
      const a = rng.uniform(-2.5, -0.65);
      const lz = rng.uniform(0.45, 0.75);
      const k = Math.sqrt(1 - lz * lz);
      return {
        domain,
        background: rng.pick(['wooden table', 'grass', 'studio', 'room', 'fabric'] as const),
        light: [Math.cos(a) * k, Math.sin(a) * k, lz],
        exposure: rng.uniform(0.88, 1.1),
        warmth: rng.uniform(-0.06, 0.06),
        noise: rng.uniform(0.008, 0.03),
      };
    }
    case 'clipart':
      return {
        domain,
        background: rng.next() < 0.6 ? 'white' : 'pastel',
        ground: rng.next() < 0.25,
        outline: rng.uniform(1.0, 1.7),
        highlight: rng.next() < 0.5,
      };
    case 'sketch':
      return {
        domain,
        background: rng.next() < 0.8 ? 'paper' : 'lined paper',
        pencil: rng.uniform(0.08, 0.45),
        width: rng.uniform(0.7, 1.15),
        jitter: rng.uniform(0.25, 0.8),
        passes: rng.next() < 0.55 ? 2 : 1,
        hatch: rng.next() < 0.5,
      };
    case 'painting': {
      const h0 = rng.next();
      return {
        domain,
        background: rng.next() < 0.5 ? 'abstract' : 'landscape',
        hues: [h0, h0 + rng.uniform(0.1, 0.4), h0 + rng.uniform(0.45, 0.7)],
        hueShift: rng.uniform(-0.025, 0.025),
        satMul: rng.uniform(0.7, 1.15),
        strokes: rng.int(40) + 45,
        outline: rng.next() < 0.4,
        cast: rng.next() < 0.5 ? [1, 0.8, 0.45] : [0.45, 0.6, 1],
        castAmount: rng.uniform(0.06, 0.2),
        impasto: rng.uniform(0.04, 0.08),
      };
    }
  }
}

/** The colour a caption can name: the object's, or the pencil's in a sketch. */
export function visibleColourName(style: StyleParams, main: ColourName): ColourName {
  if (style.domain === 'sketch') return style.pencil < 0.28 ? 'black' : 'grey';
  return main;
}

export function drawStyle(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, style: StyleParams): void {
  switch (style.domain) {
    case 'photo':
      return drawPhoto(ctx, placed, palette, style);
    case 'clipart':
      return drawClipart(ctx, placed, palette, style);
    case 'sketch':
      return drawSketch(ctx, placed, style);
    case 'painting':
      return drawPainting(ctx, placed, palette, style);
  }
}

/** Image-level effects at output resolution, on (H, W, 3) floats. */
export function postStyle(out: Float32Array, size: number, style: StyleParams, rng: Rng): void {
  switch (style.domain) {
    case 'photo': {
      soften(out, size, 0.5);
      const [wr, wb] = [1 + style.warmth, 1 - style.warmth];
      const c = (size - 1) / 2;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const dx = (x - c) / size;
          const dy = (y - c) / size;
          const v = style.exposure * (1 - 0.45 * (dx * dx + dy * dy));
          const o = (y * size + x) * 3;
          out[o] = out[o] * v * wr + style.noise * gaussLike(rng);
          out[o + 1] = out[o + 1] * v + style.noise * gaussLike(rng);
          out[o + 2] = out[o + 2] * v * wb + style.noise * gaussLike(rng);
        }
      }
      return;
    }
    case 'sketch': {
      for (let i = 0; i < out.length; i += 3) {
        const n = 0.008 * gaussLike(rng);
        out[i] += n;
        out[i + 1] += n;
        out[i + 2] += n;
      }
      return;
    }
    case 'painting': {
      soften(out, size, 0.7);
      const cell = Math.max(1, size / 40);
      const relief = valueNoise(size + 2, size + 2, cell, rng);
      const [cr, cg, cb] = style.cast;
      const k = style.castAmount;
      const W = size + 2;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const e = style.impasto * (relief[(y + 2) * W + x + 2] - relief[y * W + x]) * 2;
          const o = (y * size + x) * 3;
          out[o] = out[o] * (1 - k + cr * k) + e;
          out[o + 1] = out[o + 1] * (1 - k + cg * k) + e;
          out[o + 2] = out[o + 2] * (1 - k + cb * k) + e;
        }
      }
      return;
    }
    case 'clipart':
      return;
  }
}

/** Mixes in a 3x3 binomial blur by `amount` (a slightly soft lens). */
function soften(out: Float32Array, size: number, amount: number): void {
  const src = out.slice();
  const row = size * 3;
  for (let y = 0; y < size; y++) {
    const ym = y > 0 ? -row : 0;
    const yp = y < size - 1 ? row : 0;
    for (let x = 0; x < size; x++) {
      const xm = x > 0 ? -3 : 0;
      const xp = x < size - 1 ? 3 : 0;
      for (let c = 0; c < 3; c++) {
        const o = y * row + x * 3 + c;
        const b =
          (src[o + ym + xm] + 2 * src[o + ym] + src[o + ym + xp] +
            2 * (src[o + xm] + 2 * src[o] + src[o + xp]) +
            src[o + yp + xm] + 2 * src[o + yp] + src[o + yp + xp]) / 16;
        out[o] = src[o] + (b - src[o]) * amount;
      }
    }
  }
}
