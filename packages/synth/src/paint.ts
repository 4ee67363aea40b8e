/**
 * Compositing colour through coverage masks onto a canvas (raster.ts): flat, shaded (a part lit
 * as an ellipsoid or panel), hatched, darkened, or copied from another canvas.
 */
import { Canvas, Mask, type RGB } from './raster.js';

/** canvas = canvas * (1 - a) + c * a, a = alpha * mask */
export function paintFlat(canvas: Canvas, mask: Mask, c: RGB, alpha = 1): void {
  if (mask.isEmpty()) return;
  const W = mask.width;
  const m = mask.data;
  const p = canvas.rgb;
  const [r, g, b] = c;
  for (let y = mask.y0; y < mask.y1; y++) {
    for (let i = y * W + mask.x0, e = y * W + mask.x1; i < e; i++) {
      const a = m[i] * alpha;
      if (a <= 0) continue;
      const o = i * 3;
      p[o] += (r - p[o]) * a;
      p[o + 1] += (g - p[o + 1]) * a;
      p[o + 2] += (b - p[o + 2]) * a;
    }
  }
}

/** Multiplies the canvas by (1 - strength * mask): darkens it, e.g. under a shadow. */
export function darken(canvas: Canvas, mask: Mask, strength: number, tint: RGB = [0, 0, 0]): void {
  paintFlat(canvas, mask, tint, strength);
}

/** Copies `src` into `canvas` through the mask (erases to a saved background). */
export function paintFrom(canvas: Canvas, src: Canvas, mask: Mask): void {
  if (mask.isEmpty()) return;
  const W = mask.width;
  const m = mask.data;
  const p = canvas.rgb;
  const s = src.rgb;
  for (let y = mask.y0; y < mask.y1; y++) {
    for (let i = y * W + mask.x0, e = y * W + mask.x1; i < e; i++) {
      const a = m[i];
      if (a <= 0) continue;
      const o = i * 3;
      p[o] += (s[o] - p[o]) * a;
      p[o + 1] += (s[o + 1] - p[o + 1]) * a;
      p[o + 2] += (s[o + 2] - p[o + 2]) * a;
    }
  }
}

/**
 * Lighting for a shaded fill. The part is treated as a mix of a flat panel lit by a linear
 * gradient and an ellipsoid (fitted to the part's box) lit by a directional light.
 */
export interface Shading {
  /** Centre and half-extents of the part's bounding box, canvas pixels. */
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Unit light direction (towards the light): x right, y down, z towards the viewer. */
  lx: number;
  ly: number;
  lz: number;
  /** 0: flat panel, 1: ellipsoid. */
  round: number;
  ambient: number;
  /** Specular highlight strength (0 for matte). */
  specular: number;
  /** Optional per-pixel texture (H, W) multiplying the colour by (1 + amp * (t - 0.5)). */
  texture?: Float32Array;
  textureAmp?: number;
}

export function paintShaded(canvas: Canvas, mask: Mask, c: RGB, s: Shading, alpha = 1): void {
  if (mask.isEmpty()) return;
  const W = mask.width;
  const m = mask.data;
  const p = canvas.rgb;
  const [r, g, b] = c;
  const irx = 1 / Math.max(1e-6, s.rx);
  const iry = 1 / Math.max(1e-6, s.ry);
  const { lx, ly, lz, round, ambient, specular } = s;
  const flat = 1 - round;
  const tex = s.texture;
  const tamp = s.textureAmp ?? 0;
  // half vector for a viewer on +z
  let hx = lx;
  let hy = ly;
  let hz = lz + 1;
  const hn = Math.hypot(hx, hy, hz);
  hx /= hn;
  hy /= hn;
  hz /= hn;
  for (let y = mask.y0; y < mask.y1; y++) {
    const ny = (y + 0.5 - s.cy) * iry;
    for (let x = mask.x0; x < mask.x1; x++) {
      const i = y * W + x;
      const a = m[i] * alpha;
      if (a <= 0) continue;
      const nx = (x + 0.5 - s.cx) * irx;
      // flat panel: brighter on the side facing the light
      const lin = 0.72 - 0.28 * (nx * lx + ny * ly);
      // ellipsoid normal
      const d2 = nx * nx + ny * ny;
      let ex = nx;
      let ey = ny;
      let ez = 0;
      if (d2 < 1) ez = Math.sqrt(1 - d2);
      else {
        const k = 1 / Math.sqrt(d2);
        ex *= k;
        ey *= k;
      }
      let diff = ex * lx + ey * ly + ez * lz;
      if (diff < 0) diff = 0;
      let shade = ambient + (1 - ambient) * (flat * lin + round * diff);
      if (tex) shade *= 1 + tamp * (tex[i] - 0.5);
      let spec = 0;
      if (specular > 0 && round > 0) {
        const h = ex * hx + ey * hy + ez * hz;
        if (h > 0.9) {
          const t = (h - 0.9) * 10;
          spec = specular * round * t * t * t;
        }
      }
      const o = i * 3;
      p[o] += (r * shade + spec - p[o]) * a;
      p[o + 1] += (g * shade + spec - p[o + 1]) * a;
      p[o + 2] += (b * shade + spec - p[o + 2]) * a;
    }
  }
}

/**
 * Parallel pencil hatching through the mask: lines at `angle` every `spacing` pixels, `width`
 * wide, painted with colour c at opacity alpha.
 */
export function paintHatch(canvas: Canvas, mask: Mask, c: RGB, angle: number, spacing: number, width: number, alpha: number): void {
  if (mask.isEmpty()) return;
  const W = mask.width;
  const m = mask.data;
  const p = canvas.rgb;
  const ca = Math.cos(angle) / spacing;
  const sa = Math.sin(angle) / spacing;
  const edge = (width / 2 + 0.5) / spacing;
  const inv = spacing;
  const [r, g, b] = c;
  for (let y = mask.y0; y < mask.y1; y++) {
    for (let x = mask.x0; x < mask.x1; x++) {
      const i = y * W + x;
      const mv = m[i];
      if (mv <= 0) continue;
      const t = (x + 0.5) * ca + (y + 0.5) * sa + 1e4;
      let f = t - Math.floor(t);
      if (f > 0.5) f = 1 - f;
      if (f >= edge) continue;
      let cov = (edge - f) * inv;
      if (cov > 1) cov = 1;
      const a = cov * mv * alpha;
      const o = i * 3;
      p[o] += (r - p[o]) * a;
      p[o + 1] += (g - p[o + 1]) * a;
      p[o + 2] += (b - p[o + 2]) * a;
    }
  }
}
