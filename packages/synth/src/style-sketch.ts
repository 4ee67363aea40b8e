/** The sketch domain: wobbly doubled pencil outlines, optional hatching, on paper (styles.ts). */
import type { Rng } from '@dampl/runtime';
import { hsvRgb } from './colour.js';
import { densify } from './geometry.js';
import { valueNoise } from './noise.js';
import { type Path, type RGB, fillPaths, strokePath } from './raster.js';
import { paintFlat, paintFrom, paintHatch } from './paint.js';
import { upsampleInto } from './image-ops.js';
import type { DrawContext, Placed, SketchStyle } from './style-types.js';

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

export function drawSketch(ctx: DrawContext, placed: readonly Placed[], st: SketchStyle): void {
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
