/** The painting domain: brush dabs, wobbly edges and busy stroked backgrounds (styles.ts). */
import { type Hsv, type RolePalette, hsvRgb, mix, scale } from './colour.js';
import { densify } from './geometry.js';
import { fbm } from './noise.js';
import { type Path, fillPaths, strokePath } from './raster.js';
import { paintFlat } from './paint.js';
import { upsampleInto } from './image-ops.js';
import { wobble } from './style-sketch.js';
import type { DrawContext, Placed, PaintingStyle } from './style-types.js';

export function drawPainting(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: PaintingStyle): void {
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
