/**
 * A small software rasteriser for the synthetic world: a Float32 RGB canvas, coverage masks
 * filled from polygons (even-odd scanline at pixel centres) or stroked from polylines (distance
 * to segment, anti-aliased over one pixel), composited with flat or shaded colour. Shapes are
 * drawn on a supersampled canvas and box-filtered down, which anti-aliases polygon edges.
 *
 * Coordinates are in canvas pixels; pixel (i, j) covers [i, i+1) x [j, j+1), its centre at
 * (i + 0.5, j + 0.5). Colours are sRGB in [0, 1].
 */

/** A polyline or polygon as flat coordinates [x0, y0, x1, y1, ...]. */
export type Path = number[];
export type RGB = readonly [number, number, number];

export class Canvas {
  /** (H, W, 3) */
  readonly rgb: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Float32Array(width * height * 3);
  }

  fill(c: RGB): void {
    const d = this.rgb;
    for (let i = 0; i < d.length; i += 3) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
    }
  }

  copyFrom(other: Canvas): void {
    this.rgb.set(other.rgb);
  }
}

/** A single-channel coverage map in [0, 1] with the bounding box of its non-zero pixels. */
export class Mask {
  /** (H, W) */
  readonly data: Float32Array;
  x0: number;
  y0: number;
  x1: number;
  y1: number;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height);
    this.x0 = width;
    this.y0 = height;
    this.x1 = 0;
    this.y1 = 0;
  }

  isEmpty(): boolean {
    return this.x1 <= this.x0 || this.y1 <= this.y0;
  }

  /** Zeroes the covered box and empties the bounding box. */
  clear(): void {
    if (!this.isEmpty()) {
      const w = this.width;
      for (let y = this.y0; y < this.y1; y++) this.data.fill(0, y * w + this.x0, y * w + this.x1);
    }
    this.x0 = this.width;
    this.y0 = this.height;
    this.x1 = 0;
    this.y1 = 0;
  }

  /** Grows the bounding box to hold [x0, x1) x [y0, y1), clipped to the mask. */
  grow(x0: number, y0: number, x1: number, y1: number): void {
    this.x0 = Math.max(0, Math.min(this.x0, x0));
    this.y0 = Math.max(0, Math.min(this.y0, y0));
    this.x1 = Math.min(this.width, Math.max(this.x1, x1));
    this.y1 = Math.min(this.height, Math.max(this.y1, y1));
  }

  /** this = this * other (clips this to other). */
  mulBy(other: Mask): void {
    const w = this.width;
    const a = this.data;
    const b = other.data;
    for (let y = this.y0; y < this.y1; y++) {
      for (let i = y * w + this.x0, e = y * w + this.x1; i < e; i++) a[i] *= b[i];
    }
  }
}

let crossX = new Float64Array(256);

/**
 * Fills closed paths into the mask with coverage 1 by the even-odd rule, sampled at pixel
 * centres: a path inside another makes a hole (a ring is an outer and an inner circle).
 */
export function fillPaths(mask: Mask, paths: readonly Path[]): void {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  let edges = 0;
  for (const p of paths) {
    for (let i = 0; i < p.length; i += 2) {
      const x = p[i];
      const y = p[i + 1];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    edges += p.length >> 1;
  }
  if (edges === 0) return;
  if (crossX.length < edges) crossX = new Float64Array(edges * 2);
  const W = mask.width;
  const jy0 = Math.max(0, Math.ceil(minY - 0.5));
  const jy1 = Math.min(mask.height, Math.ceil(maxY - 0.5));
  if (jy1 <= jy0 || maxX < 0 || minX > W) return;
  const d = mask.data;
  let bx0 = W;
  let bx1 = 0;
  for (let j = jy0; j < jy1; j++) {
    const y = j + 0.5;
    let n = 0;
    for (const p of paths) {
      const len = p.length;
      let ax = p[len - 2];
      let ay = p[len - 1];
      for (let i = 0; i < len; i += 2) {
        const bx = p[i];
        const by = p[i + 1];
        if ((ay <= y && by > y) || (by <= y && ay > y)) {
          const x = ax + ((y - ay) * (bx - ax)) / (by - ay);
          // insertion sort as we go: the lists are short
          let k = n++;
          while (k > 0 && crossX[k - 1] > x) {
            crossX[k] = crossX[k - 1];
            k--;
          }
          crossX[k] = x;
        }
        ax = bx;
        ay = by;
      }
    }
    const row = j * W;
    for (let k = 0; k + 1 < n; k += 2) {
      const i0 = Math.max(0, Math.ceil(crossX[k] - 0.5));
      const i1 = Math.min(W, Math.ceil(crossX[k + 1] - 0.5));
      if (i1 <= i0) continue;
      d.fill(1, row + i0, row + i1);
      if (i0 < bx0) bx0 = i0;
      if (i1 > bx1) bx1 = i1;
    }
  }
  if (bx1 > bx0) mask.grow(bx0, jy0, bx1, jy1);
}

export interface StrokeOptions {
  /** Join the last point to the first. */
  closed?: boolean;
  /** Opacity of the whole stroke. */
  alpha?: number;
  /** Per-vertex opacity (pencil pressure), interpolated along each segment. */
  alphas?: readonly number[];
  /** Width of the edge ramp in pixels (1: anti-aliased; more: a soft brush or a blurred disc). */
  soft?: number;
}

/**
 * Strokes a polyline of the given width into the mask (coverage = max over segments), with
 * round caps and joins. A single point strokes a disc.
 */
export function strokePath(mask: Mask, pts: Path, width: number, opts: StrokeOptions = {}): void {
  const n = pts.length >> 1;
  if (n === 0) return;
  const hw = width / 2;
  const alpha = opts.alpha ?? 1;
  const alphas = opts.alphas;
  const soft = Math.max(1e-3, opts.soft ?? 1);
  const segs = opts.closed ? n : n - 1;
  if (segs <= 0) {
    strokeSegment(mask, pts[0], pts[1], pts[0], pts[1], hw, alpha, alpha, soft);
    return;
  }
  for (let s = 0; s < segs; s++) {
    const k = (s + 1) % n;
    const a0 = alphas ? alpha * alphas[s] : alpha;
    const a1 = alphas ? alpha * alphas[k] : alpha;
    strokeSegment(mask, pts[2 * s], pts[2 * s + 1], pts[2 * k], pts[2 * k + 1], hw, a0, a1, soft);
  }
}

function strokeSegment(
  mask: Mask,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  hw: number,
  a0: number,
  a1: number,
  soft: number,
): void {
  const W = mask.width;
  const edge = hw + soft / 2;
  const r = edge + 1;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r));
  const x1 = Math.min(W, Math.ceil(Math.max(ax, bx) + r));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r));
  const y1 = Math.min(mask.height, Math.ceil(Math.max(ay, by) + r));
  if (x1 <= x0 || y1 <= y0) return;
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const inv = len2 > 1e-12 ? 1 / len2 : 0;
  const da = a1 - a0;
  const d = mask.data;
  const isoft = 1 / soft;
  const edge2 = edge * edge;
  for (let j = y0; j < y1; j++) {
    const py = j + 0.5 - ay;
    const row = j * W;
    for (let i = x0; i < x1; i++) {
      const px = i + 0.5 - ax;
      let t = (px * dx + py * dy) * inv;
      if (t < 0) t = 0;
      else if (t > 1) t = 1;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const dist2 = ex * ex + ey * ey;
      if (dist2 >= edge2) continue;
      let c = (edge - Math.sqrt(dist2)) * isoft;
      if (c > 1) c = 1;
      c *= a0 + da * t;
      if (c > d[row + i]) d[row + i] = c;
    }
  }
  mask.grow(x0, y0, x1, y1);
}
