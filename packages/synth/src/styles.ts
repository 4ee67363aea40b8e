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
import type { Part } from './classes.js';
import { type ColourName, type Hsv, type RolePalette, hsvRgb, mix, scale } from './colour.js';
import { bounds, densify, ellipse } from './geometry.js';
import { fbm, gaussLike, valueNoise } from './noise.js';
import {
  type Canvas, type Mask, type Path, type RGB,
  blurMask, darken, fillPaths, paintFlat, paintFrom, paintHatch, paintShaded, strokePath, upsampleInto,
} from './raster.js';

export type SynthDomain = 'photo' | 'clipart' | 'sketch' | 'painting';

export interface SynthDomainInfo {
  name: SynthDomain;
  /** Folder under `<split>/`. */
  folder: string;
  /** The phrase a caption opens with: "a clipart image" (of a red car). */
  style: string;
  /** Other ways captions name the style. */
  styleSynonyms: readonly string[];
}

export const SYNTH_DOMAINS: readonly SynthDomainInfo[] = [
  { name: 'photo', folder: 'photo', style: 'a photo', styleSynonyms: ['a photo', 'a photograph', 'a close-up photo', 'a real photo'] },
  { name: 'clipart', folder: 'clipart', style: 'a clipart image', styleSynonyms: ['a clipart image', 'a clip art illustration', 'a cartoon drawing', 'a flat vector icon'] },
  { name: 'sketch', folder: 'sketch', style: 'a sketch', styleSynonyms: ['a sketch', 'a pencil sketch', 'a line drawing', 'a pencil drawing'] },
  { name: 'painting', folder: 'painting', style: 'a painting', styleSynonyms: ['a painting', 'an oil painting', 'a painted picture', 'an artwork'] },
];

/** A part placed on the canvas: its paths in canvas pixels and its line width there. */
export interface Placed {
  part: Part;
  paths: Path[];
  width: number;
  box: { x0: number; y0: number; x1: number; y1: number };
}

export interface DrawContext {
  canvas: Canvas;
  /** A second canvas of the same size for the style's own use. */
  scratch: Canvas;
  /** A canvas at output resolution, for textures that need no anti-aliasing (backgrounds). */
  small: Canvas;
  /** Supersampling factor: side = size * ss. */
  ss: number;
  /** Canvas side in supersampled pixels. */
  side: number;
  /** Output image side. */
  size: number;
  /** One pixel of a 64-pixel image, in canvas pixels: widths and textures scale with it. */
  u: number;
  mask: Mask;
  mask2: Mask;
  rng: Rng;
}

export interface PhotoStyle {
  domain: 'photo';
  background: 'wooden table' | 'grass' | 'studio' | 'room' | 'fabric';
  light: [number, number, number];
  exposure: number;
  warmth: number;
  noise: number;
}
export interface ClipartStyle {
  domain: 'clipart';
  background: 'white' | 'pastel';
  ground: boolean;
  outline: number;
  highlight: boolean;
}
export interface SketchStyle {
  domain: 'sketch';
  background: 'paper' | 'lined paper';
  pencil: number;
  width: number;
  jitter: number;
  passes: number;
  hatch: boolean;
}
export interface PaintingStyle {
  domain: 'painting';
  background: 'abstract' | 'landscape';
  hues: number[];
  hueShift: number;
  satMul: number;
  strokes: number;
  outline: boolean;
  cast: [number, number, number];
  castAmount: number;
  impasto: number;
}
export type StyleParams = PhotoStyle | ClipartStyle | SketchStyle | PaintingStyle;

/** Words a caption may use for the background. */
export const BACKGROUND_PHRASES: Record<StyleParams['background'], string> = {
  'wooden table': 'on a wooden table',
  grass: 'on the grass',
  studio: 'on a plain background',
  room: 'in front of a blurry background',
  fabric: 'on a cloth',
  white: 'on a white background',
  pastel: 'on a plain coloured background',
  paper: 'on white paper',
  'lined paper': 'on lined paper',
  abstract: 'with a busy background',
  landscape: 'in a landscape',
};

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

// ---------------------------------------------------------------------------------------------
// photo

function drawPhoto(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: PhotoStyle): void {
  const { canvas, mask, mask2, u, rng } = ctx;
  photoBackground(ctx, st);
  const [lx, ly, lz] = st.light;
  // cast shadow: the silhouette moved away from the light, blurred
  mask2.clear();
  const off = rng.uniform(2, 4.5) * u;
  const sx = -lx * off;
  const sy = -ly * off * 0.6 + off * 0.5;
  for (const p of placed) {
    const moved = p.paths.map((path) => path.map((v, i) => v + (i % 2 === 0 ? sx : sy)));
    if (p.part.kind === 'fill') fillPaths(mask2, moved);
    else for (const m of moved) strokePath(mask2, m, p.width);
  }
  blurMask(mask2, Math.max(1, Math.round(1.5 * u)));
  blurMask(mask2, Math.max(1, Math.round(1.5 * u)));
  darken(canvas, mask2, rng.uniform(0.3, 0.5));
  for (const p of placed) {
    const c = hsvRgb(photoColour(palette[p.part.role]));
    mask.clear();
    if (p.part.kind === 'fill') fillPaths(mask, p.paths);
    else for (const path of p.paths) strokePath(mask, path, p.width);
    const b = p.box;
    const round = p.part.round ?? 0.3;
    paintShaded(canvas, mask, c, {
      cx: (b.x0 + b.x1) / 2,
      cy: (b.y0 + b.y1) / 2,
      rx: Math.max(1, (b.x1 - b.x0) / 2),
      ry: Math.max(1, (b.y1 - b.y0) / 2),
      lx, ly, lz,
      round,
      ambient: 0.38,
      specular: p.part.role === 'glass' || p.part.role === 'metal' ? 0.7 : 0.35,
    });
  }
}

function photoColour(c: Hsv): Hsv {
  return [c[0], c[1] * 0.92, Math.min(1, c[2] * 1.08)];
}

/** Textured background at output resolution, enlarged onto the canvas. */
function photoBackground(ctx: DrawContext, st: PhotoStyle): void {
  const { small, rng } = ctx;
  const S = small.width;
  const u = S / 64;
  const px = small.rgb;
  switch (st.background) {
    case 'wooden table': {
      const hy = Math.round(S * rng.uniform(0.35, 0.62));
      const wall = hsvRgb([rng.next(), rng.uniform(0.05, 0.25), rng.uniform(0.6, 0.88)]);
      const wood = hsvRgb([rng.uniform(0.05, 0.09), rng.uniform(0.45, 0.7), rng.uniform(0.4, 0.72)]);
      const grain = valueNoise(S, S, 24 * u, rng, undefined, 0.7 * u);
      const blot = valueNoise(S, S, 9 * u, rng);
      const plank = rng.uniform(9, 15) * u;
      for (let y = 0; y < S; y++) {
        const top = y < hy;
        const seam = !top && (y - hy) % plank < 0.5 * u;
        const depth = top ? 0.8 + (0.2 * y) / hy : 0.88 + (0.12 * (y - hy)) / (S - hy);
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          let k: number;
          let c: RGB;
          if (top) {
            k = depth + 0.06 * (blot[i] - 0.5);
            c = wall;
          } else {
            k = (0.7 + 0.45 * grain[i] + 0.12 * (blot[i] - 0.5)) * depth * (seam ? 0.65 : 1);
            c = wood;
          }
          px[i * 3] = c[0] * k;
          px[i * 3 + 1] = c[1] * k;
          px[i * 3 + 2] = c[2] * k;
        }
      }
      break;
    }
    case 'grass': {
      const hy = Math.round(S * rng.uniform(0.3, 0.6));
      const sky = hsvRgb([rng.uniform(0.54, 0.62), rng.uniform(0.3, 0.6), rng.uniform(0.75, 0.95)]);
      const haze: RGB = [0.92, 0.94, 0.96];
      const grass = hsvRgb([rng.uniform(0.2, 0.32), rng.uniform(0.5, 0.75), rng.uniform(0.35, 0.6)]);
      const blades = valueNoise(S, S, 0.9 * u, rng, undefined, 3.5 * u);
      const patches = valueNoise(S, S, 10 * u, rng);
      const clouds = fbm(S, S, 14 * u, 2, rng);
      for (let y = 0; y < S; y++) {
        const t = y / Math.max(1, hy);
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          let r: number;
          let g: number;
          let b: number;
          if (y < hy) {
            const c = mix(sky, haze, t * t * 0.8);
            const cl = Math.max(0, clouds[i] - 0.55) * 2.2;
            r = c[0] + (1 - c[0]) * cl;
            g = c[1] + (1 - c[1]) * cl;
            b = c[2] + (1 - c[2]) * cl;
          } else {
            const k = 0.6 + 0.5 * blades[i] + 0.3 * (patches[i] - 0.5);
            r = grass[0] * k;
            g = grass[1] * k;
            b = grass[2] * k;
          }
          px[i * 3] = r;
          px[i * 3 + 1] = g;
          px[i * 3 + 2] = b;
        }
      }
      break;
    }
    case 'studio': {
      const c = hsvRgb([rng.next(), rng.uniform(0.02, 0.22), rng.uniform(0.75, 0.95)]);
      const fx = rng.uniform(0.35, 0.65) * S;
      const fy = rng.uniform(0.25, 0.5) * S;
      const grain = valueNoise(S, S, 2 * u, rng);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const dx = (x - fx) / S;
          const dy = (y - fy) / S;
          const i = y * S + x;
          const k = 1.05 - 0.55 * (dx * dx + dy * dy) + 0.03 * (grain[i] - 0.5);
          px[i * 3] = c[0] * k;
          px[i * 3 + 1] = c[1] * k;
          px[i * 3 + 2] = c[2] * k;
        }
      }
      break;
    }
    case 'room': {
      const top = hsvRgb([rng.next(), rng.uniform(0.1, 0.45), rng.uniform(0.35, 0.75)]);
      const bottom = hsvRgb([rng.next(), rng.uniform(0.1, 0.45), rng.uniform(0.3, 0.7)]);
      for (let y = 0; y < S; y++) {
        const c = mix(top, bottom, y / S);
        for (let x = 0; x < S; x++) {
          const i = (y * S + x) * 3;
          px[i] = c[0];
          px[i + 1] = c[1];
          px[i + 2] = c[2];
        }
      }
      upsampleInto(small, ctx.canvas, ctx.ss);
      // out-of-focus lights: soft discs
      const n = rng.int(7) + 6;
      const U = ctx.u;
      for (let k = 0; k < n; k++) {
        const r = rng.uniform(4, 12) * U;
        ctx.mask.clear();
        strokePath(ctx.mask, [rng.uniform(0, ctx.side), rng.uniform(0, ctx.side)], 2 * r, { soft: r * 1.2 });
        paintFlat(ctx.canvas, ctx.mask, hsvRgb([rng.next(), rng.uniform(0.1, 0.6), rng.uniform(0.5, 1)]), rng.uniform(0.25, 0.6));
      }
      ctx.mask.clear();
      return;
    }
    case 'fabric': {
      const c = hsvRgb([rng.next(), rng.uniform(0.15, 0.5), rng.uniform(0.5, 0.85)]);
      const folds = fbm(S, S, 16 * u, 2, rng);
      const period = rng.uniform(1.2, 2) * u;
      const w = (2 * Math.PI) / period;
      const ang = rng.uniform(-0.3, 0.3);
      const ca = Math.cos(ang) * w;
      const sa = Math.sin(ang) * w;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          const weave = Math.sin(x * ca + y * sa) * Math.sin(y * ca - x * sa);
          const k = 0.8 + 0.08 * weave + 0.4 * (folds[i] - 0.5);
          px[i * 3] = c[0] * k;
          px[i * 3 + 1] = c[1] * k;
          px[i * 3 + 2] = c[2] * k;
        }
      }
      break;
    }
  }
  upsampleInto(small, ctx.canvas, ctx.ss);
}

// ---------------------------------------------------------------------------------------------
// clipart

function clipartColour(c: Hsv): Hsv {
  if (c[1] < 0.2) return [c[0], c[1] * 0.5, c[2] < 0.3 ? c[2] : Math.min(1, c[2] * 1.08)];
  return [c[0], Math.min(1, c[1] * 1.15 + 0.1), Math.min(1, c[2] * 1.05 + 0.06)];
}

function drawClipart(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: ClipartStyle): void {
  const { canvas, mask, mask2, u, rng } = ctx;
  canvas.fill(st.background === 'white' ? [1, 1, 1] : hsvRgb([rng.next(), rng.uniform(0.08, 0.22), rng.uniform(0.93, 1)]));
  const ink: RGB = hsvRgb([rng.next(), rng.uniform(0, 0.3), rng.uniform(0.05, 0.16)]);
  const ow = st.outline * u;
  if (st.ground) {
    const b = bounds(placed.flatMap((p) => p.paths));
    mask.clear();
    fillPaths(mask, [ellipse((b.x0 + b.x1) / 2, b.y1 - u, (b.x1 - b.x0) * 0.55, 3 * u, 0, 32)]);
    paintFlat(canvas, mask, rng.next() < 0.5 ? [0.85, 0.85, 0.85] : hsvRgb([rng.uniform(0.25, 0.35), 0.35, 0.85]));
  }
  for (const p of placed) {
    const c = hsvRgb(clipartColour(palette[p.part.role]));
    const w = p.part.detail ? ow * 0.6 : ow;
    if (p.part.kind === 'fill') {
      mask.clear();
      fillPaths(mask, p.paths);
      paintFlat(canvas, mask, c);
      if (st.highlight && (p.part.round ?? 0) >= 0.5 && !p.part.detail) {
        const b = p.box;
        const bw = b.x1 - b.x0;
        const bh = b.y1 - b.y0;
        mask2.clear();
        fillPaths(mask2, [ellipse(b.x0 + bw * 0.32, b.y0 + bh * 0.3, bw * 0.14, bh * 0.09, -0.6, 20)]);
        mask2.mulBy(mask);
        paintFlat(canvas, mask2, [1, 1, 1], 0.75);
      }
      mask2.clear();
      for (const path of p.paths) strokePath(mask2, path, w, { closed: true });
      paintFlat(canvas, mask2, ink);
    } else {
      mask.clear();
      for (const path of p.paths) strokePath(mask, path, p.width + w * 1.4);
      paintFlat(canvas, mask, ink);
      if (p.part.role !== 'dark') {
        mask.clear();
        for (const path of p.paths) strokePath(mask, path, p.width);
        paintFlat(canvas, mask, c);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// sketch

/**
 * A hand-drawn version of a path: resampled, displaced by a smooth random wobble, and for a
 * closed path started at a random point and run past it (the overlap of a pencil outline).
 */
export function wobble(p: Path, closed: boolean, amp: number, u: number, rng: Rng, overlap = 0): Path {
  let d = densify(p, 2.2 * u, closed);
  const n = d.length >> 1;
  if (closed && n > 2) {
    const s = rng.int(n);
    const extra = Math.round(n * overlap);
    const r: Path = [];
    for (let i = 0; i <= n + extra; i++) {
      const k = (s + i) % n;
      r.push(d[2 * k], d[2 * k + 1]);
    }
    d = r;
  }
  const f1 = rng.uniform(0.6, 1.4) / (7 * u);
  const f2 = rng.uniform(0.6, 1.4) / (2.5 * u);
  const p1 = rng.uniform(0, 6.3);
  const p2 = rng.uniform(0, 6.3);
  const p3 = rng.uniform(0, 6.3);
  const p4 = rng.uniform(0, 6.3);
  const ox = rng.uniform(-0.5, 0.5) * amp;
  const oy = rng.uniform(-0.5, 0.5) * amp;
  let s = 0;
  const out: Path = new Array(d.length);
  for (let i = 0; i < d.length; i += 2) {
    if (i > 0) s += Math.hypot(d[i] - d[i - 2], d[i + 1] - d[i - 1]);
    out[i] = d[i] + ox + amp * (0.7 * Math.sin(s * f1 + p1) + 0.3 * Math.sin(s * f2 + p2));
    out[i + 1] = d[i + 1] + oy + amp * (0.7 * Math.sin(s * f1 + p3) + 0.3 * Math.sin(s * f2 + p4));
  }
  return out;
}

function pressure(n: number, rng: Rng): number[] {
  const f = rng.uniform(0.05, 0.2);
  const ph = rng.uniform(0, 6.3);
  const a: number[] = new Array(n);
  for (let i = 0; i < n; i++) a[i] = 0.72 + 0.28 * Math.sin(i * f + ph);
  return a;
}

function drawSketch(ctx: DrawContext, placed: readonly Placed[], st: SketchStyle): void {
  const { canvas, side: S, mask, mask2, u, rng } = ctx;
  const paper = hsvRgb([rng.uniform(0.08, 0.14), rng.uniform(0, 0.06), rng.uniform(0.95, 1)]);
  const n = ctx.small.width;
  const grain = valueNoise(n, n, 1.2 * (n / 64), rng);
  const spx = ctx.small.rgb;
  for (let i = 0; i < n * n; i++) {
    const k = 1 - 0.035 * grain[i];
    spx[i * 3] = paper[0] * k;
    spx[i * 3 + 1] = paper[1] * k;
    spx[i * 3 + 2] = paper[2] * k;
  }
  upsampleInto(ctx.small, canvas, ctx.ss);
  if (st.background === 'lined paper') {
    const gap = rng.uniform(6, 9) * u;
    const y0 = rng.uniform(0, gap);
    mask.clear();
    for (let y = y0; y < S; y += gap) strokePath(mask, [0, y, S, y], 0.5 * u);
    paintFlat(canvas, mask, [0.55, 0.7, 0.92], 0.45);
  }
  const bg = ctx.scratch;
  bg.copyFrom(canvas);
  const pencil: RGB = [st.pencil, st.pencil, st.pencil * 1.04];
  const pw = st.width * u;
  const amp = st.jitter * u;
  const hatchAngle = rng.uniform(0.5, 1.1);
  for (const p of placed) {
    const w = p.part.detail ? pw * 0.8 : pw;
    if (p.part.kind === 'fill') {
      mask.clear();
      fillPaths(mask, p.paths);
      paintFrom(canvas, bg, mask);
      const big = (p.box.x1 - p.box.x0) * (p.box.y1 - p.box.y0) > 150 * u * u;
      if (p.part.role === 'dark' || (st.hatch && big && p.part.role === 'main')) {
        const dense = p.part.role === 'dark';
        paintHatch(canvas, mask, pencil, hatchAngle, (dense ? 1.6 : 2.6) * u, 0.45 * u, dense ? 0.75 : 0.4);
      }
      for (const path of p.paths) {
        for (let pass = 0; pass < st.passes; pass++) {
          const q = wobble(path, true, amp, u, rng, rng.uniform(0.03, 0.12));
          mask2.clear();
          strokePath(mask2, q, w, { alpha: pass === 0 ? 1 : 0.55, alphas: pressure(q.length >> 1, rng) });
          paintFlat(canvas, mask2, pencil);
        }
      }
    } else {
      const lw = Math.min(Math.max(w, p.width * 0.6), 1.8 * u);
      for (const path of p.paths) {
        for (let pass = 0; pass < st.passes; pass++) {
          const q = wobble(path, false, amp * 0.7, u, rng);
          mask2.clear();
          strokePath(mask2, q, lw, { alpha: pass === 0 ? 1 : 0.55, alphas: pressure(q.length >> 1, rng) });
          paintFlat(canvas, mask2, pencil);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// painting

function drawPainting(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: PaintingStyle): void {
  const { canvas, side: S, mask, mask2, u, rng } = ctx;
  const bgCol = (v0: number, v1: number): Hsv => [rng.pick(st.hues) + rng.uniform(-0.04, 0.04), rng.uniform(0.2, 0.55), rng.uniform(v0, v1)];
  const top = hsvRgb(bgCol(0.55, 0.92));
  const bottom = hsvRgb(bgCol(0.4, 0.8));
  const horizon = st.background === 'landscape' ? rng.uniform(0.35, 0.65) : -1;
  const n = ctx.small.width;
  const mottle = fbm(n, n, 12 * (n / 64), 2, rng);
  const spx = ctx.small.rgb;
  for (let y = 0; y < n; y++) {
    const t = horizon < 0 ? y / n : y < horizon * n ? 0 : 1;
    const c = mix(top, bottom, t);
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const k = 0.8 + 0.4 * mottle[i];
      spx[i * 3] = c[0] * k;
      spx[i * 3 + 1] = c[1] * k;
      spx[i * 3 + 2] = c[2] * k;
    }
  }
  upsampleInto(ctx.small, canvas, ctx.ss);
  const hy = horizon * S;
  for (let k = 0; k < st.strokes; k++) {
    const x = rng.uniform(-2, S + 2);
    const y = rng.uniform(-2, S + 2);
    const ground = horizon >= 0 && y > hy;
    const a = ground ? rng.uniform(-0.4, 0.4) : rng.uniform(0, Math.PI);
    const len = rng.uniform(4, 14) * u;
    const bend = rng.uniform(-0.3, 0.3) * len;
    const dx = Math.cos(a) * len;
    const dy = Math.sin(a) * len;
    const path: Path = [x, y, x + dx / 2 - (dy * bend) / len, y + dy / 2 + (dx * bend) / len, x + dx, y + dy];
    mask.clear();
    strokePath(mask, densify(path, 3.5 * u, false), rng.uniform(1.8, 5) * u, { soft: 1.5 * u });
    paintFlat(canvas, mask, hsvRgb(bgCol(0.4, 0.95)), rng.uniform(0.35, 0.75));
  }

  const shift = (c: Hsv): Hsv => [c[0] + st.hueShift, Math.min(1, c[1] * st.satMul), c[2]];
  for (const p of placed) {
    const base = shift(palette[p.part.role]);
    if (p.part.kind === 'fill') {
      const edges = p.paths.map((path) => wobble(path, true, 0.5 * u, u, rng));
      mask.clear();
      fillPaths(mask, edges);
      paintFlat(canvas, mask, hsvRgb([base[0], base[1], base[2] * rng.uniform(0.9, 1.05)]), rng.uniform(0.88, 1));
      const b = p.box;
      const area = (b.x1 - b.x0) * (b.y1 - b.y0);
      const dabs = Math.min(140, Math.round((area / (u * u)) * 0.12));
      const dir = rng.uniform(0, Math.PI);
      for (let k = 0; k < dabs; k++) {
        const x = rng.uniform(b.x0, b.x1);
        const y = rng.uniform(b.y0, b.y1);
        const xi = Math.floor(x);
        const yi = Math.floor(y);
        if (xi < 0 || yi < 0 || xi >= S || yi >= S || mask.data[yi * S + xi] < 0.5) continue;
        const a = dir + rng.uniform(-0.5, 0.5);
        const len = rng.uniform(1.5, 3.5) * u;
        mask2.clear();
        strokePath(mask2, [x, y, x + Math.cos(a) * len, y + Math.sin(a) * len], rng.uniform(1.1, 2.3) * u, { soft: 0.6 * u });
        mask2.mulBy(mask);
        const dc: Hsv = [base[0] + rng.uniform(-0.025, 0.025), base[1] * rng.uniform(0.8, 1.15), base[2] * rng.uniform(0.72, 1.2)];
        paintFlat(canvas, mask2, hsvRgb(dc), rng.uniform(0.5, 0.85));
      }
      if (st.outline && !p.part.detail) {
        mask2.clear();
        for (const e of edges) strokePath(mask2, e, 0.9 * u, { closed: true, soft: 0.6 * u });
        paintFlat(canvas, mask2, scale(hsvRgb(base), 0.35), 0.55);
      }
    } else {
      mask.clear();
      for (const path of p.paths) strokePath(mask, wobble(path, false, 0.4 * u, u, rng), p.width * rng.uniform(1, 1.3));
      paintFlat(canvas, mask, hsvRgb(base), 0.92);
    }
  }
}
