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

/** Nearest-neighbour enlargement of `small` by an integer factor into `big`. */
export function upsampleInto(small: Canvas, big: Canvas, f: number): void {
  const sw = small.width;
  const bw = big.width;
  const s = small.rgb;
  const b = big.rgb;
  for (let y = 0; y < big.height; y++) {
    const sr = Math.floor(y / f) * sw;
    let o = y * bw * 3;
    for (let x = 0; x < sw; x++) {
      const k = (sr + x) * 3;
      const r = s[k];
      const g = s[k + 1];
      const bl = s[k + 2];
      for (let i = 0; i < f; i++, o += 3) {
        b[o] = r;
        b[o + 1] = g;
        b[o + 2] = bl;
      }
    }
  }
}

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

let blurLine = new Float32Array(1024);

/**
 * In-place separable box blur of an interleaved (H, W, C) buffer with radius r, edges clamped.
 * Only the box [x0, x1) x [y0, y1) is touched, its border treated as the edge.
 */
export function boxBlur(
  data: Float32Array,
  w: number,
  h: number,
  ch: number,
  r: number,
  x0 = 0,
  y0 = 0,
  x1 = w,
  y1 = h,
): void {
  if (r <= 0 || x1 <= x0 || y1 <= y0) return;
  const bw = x1 - x0;
  const bh = y1 - y0;
  if (blurLine.length < Math.max(bw, bh)) blurLine = new Float32Array(Math.max(bw, bh) * 2);
  const line = blurLine;
  const inv = 1 / (2 * r + 1);
  for (let y = y0; y < y1; y++) {
    for (let c = 0; c < ch; c++) blur1d(data, (y * w + x0) * ch + c, ch, bw, r, inv, line);
  }
  for (let x = x0; x < x1; x++) {
    for (let c = 0; c < ch; c++) blur1d(data, (y0 * w + x) * ch + c, w * ch, bh, r, inv, line);
  }
}

function blur1d(d: Float32Array, start: number, stride: number, n: number, r: number, inv: number, line: Float32Array): void {
  for (let i = 0, o = start; i < n; i++, o += stride) line[i] = d[o];
  const last = n - 1;
  let acc = line[0] * (r + 1);
  for (let k = 1; k <= r; k++) acc += line[k < last ? k : last];
  for (let i = 0, o = start; i < n; i++, o += stride) {
    d[o] = acc * inv;
    const a = i + r + 1;
    const b = i - r;
    acc += line[a < last ? a : last] - line[b > 0 ? b : 0];
  }
}

/** Blurs a mask in place around its covered box, growing the box by the radius. */
export function blurMask(mask: Mask, r: number): void {
  if (mask.isEmpty() || r <= 0) return;
  mask.grow(mask.x0 - r, mask.y0 - r, mask.x1 + r, mask.y1 + r);
  boxBlur(mask.data, mask.width, mask.height, 1, r, mask.x0, mask.y0, mask.x1, mask.y1);
}

/** Averages ss x ss blocks: (H*ss, W*ss, 3) -> (H, W, 3) floats. */
export function downsample(canvas: Canvas, ss: number): Float32Array {
  const w = Math.floor(canvas.width / ss);
  const h = Math.floor(canvas.height / ss);
  const out = new Float32Array(w * h * 3);
  const src = canvas.rgb;
  const W = canvas.width;
  const inv = 1 / (ss * ss);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < ss; dy++) {
        let o = ((y * ss + dy) * W + x * ss) * 3;
        for (let dx = 0; dx < ss; dx++, o += 3) {
          r += src[o];
          g += src[o + 1];
          b += src[o + 2];
        }
      }
      const q = (y * w + x) * 3;
      out[q] = r * inv;
      out[q + 1] = g * inv;
      out[q + 2] = b * inv;
    }
  }
  return out;
}

/** Float [0, 1] -> bytes, rounded and clamped. */
export function quantize(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round(f[i] * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
