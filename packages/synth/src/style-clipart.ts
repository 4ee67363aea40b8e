/** The clipart domain: flat saturated fills with dark outlines on plain backgrounds (styles.ts). */
import { type Hsv, type RolePalette, hsvRgb } from './colour.js';
import { bounds, ellipse } from './geometry.js';
import { type RGB, fillPaths, strokePath } from './raster.js';
import { paintFlat } from './paint.js';
import type { DrawContext, Placed, ClipartStyle } from './style-types.js';

function clipartColour(c: Hsv): Hsv {
  if (c[1] < 0.2) return [c[0], c[1] * 0.5, c[2] < 0.3 ? c[2] : Math.min(1, c[2] * 1.08)];
  return [c[0], Math.min(1, c[1] * 1.15 + 0.1), Math.min(1, c[2] * 1.05 + 0.06)];
}

export function drawClipart(ctx: DrawContext, placed: readonly Placed[], palette: RolePalette, st: ClipartStyle): void {
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
