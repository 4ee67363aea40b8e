/** Whole-image operations of the synthetic world's canvases: blur, nearest-neighbour enlargement, box-filtered downsampling and 8-bit quantisation. */
import { Canvas, Mask } from './raster.js';

let blurLine = new Float32Array(1024);

/**
 * In-place separable box blur of an interleaved (H, W, C) buffer with radius r, edges clamped.
 * Only the box [x0, x1) x [y0, y1) is touched, its border treated as the edge.
 */
function boxBlur(
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
