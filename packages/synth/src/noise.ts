/** Seeded value noise fields for textures (wood grain, paper, grass, canvas, impasto). */
import type { Rng } from '@dampl/runtime';

/**
 * Smooth value noise on a (H, W) grid: random values on a lattice of `cell` pixels,
 * interpolated with smoothstep; `cellY` stretches it vertically (grain, streaks). Values in [0, 1).
 */
export function valueNoise(
  w: number,
  h: number,
  cell: number,
  rng: Rng,
  out?: Float32Array,
  cellY = cell,
): Float32Array {
  const res = out ?? new Float32Array(w * h);
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cellY) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const inv = 1 / cell;
  const invY = 1 / cellY;
  const wx = new Float32Array(w);
  const ix = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    const fx = x * inv;
    const i = Math.floor(fx);
    const t = fx - i;
    ix[x] = i;
    wx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < h; y++) {
    const fy = y * invY;
    const j = Math.floor(fy);
    let ty = fy - j;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = j * gw;
    const r1 = r0 + gw;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = ix[x];
      const tx = wx[x];
      const a = grid[r0 + i] + (grid[r0 + i + 1] - grid[r0 + i]) * tx;
      const b = grid[r1 + i] + (grid[r1 + i + 1] - grid[r1 + i]) * tx;
      res[row + x] = a + (b - a) * ty;
    }
  }
  return res;
}

/** Fractal sum of `octaves` value-noise layers, halving the cell and the weight each time; in [0, 1). */
export function fbm(w: number, h: number, cell: number, octaves: number, rng: Rng): Float32Array {
  const out = new Float32Array(w * h);
  const tmp = new Float32Array(w * h);
  let amp = 1;
  let total = 0;
  let c = cell;
  for (let o = 0; o < octaves; o++) {
    valueNoise(w, h, Math.max(1, c), rng, tmp);
    for (let i = 0; i < out.length; i++) out[i] += amp * tmp[i];
    total += amp;
    amp *= 0.5;
    c /= 2;
  }
  const inv = 1 / total;
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return out;
}

/** Approximately standard-normal noise (sum of three uniforms), cheap enough for every pixel. */
export function gaussLike(rng: Rng): number {
  return (rng.next() + rng.next() + rng.next() - 1.5) * 2;
}
