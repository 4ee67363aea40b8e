/** The photo domain: shaded parts, a cast shadow and textured photo-like backgrounds (styles.ts). */
import { type Hsv, type RolePalette, hsvRgb, mix } from './colour.js';
import { fbm, valueNoise } from './noise.js';
import { type RGB, fillPaths, strokePath } from './raster.js';
import { darken, paintFlat, paintShaded } from './paint.js';
import { blurMask, upsampleInto } from './image-ops.js';
import type { DrawContext, Placed, PhotoStyle } from './style-types.js';

export function drawPhoto(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: PhotoStyle): void {
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
