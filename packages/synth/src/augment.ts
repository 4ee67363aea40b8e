/** The pre-training images: decoded and CLIP-preprocessed, and their flipped and shifted views. */
import { clipPreprocess, loadImage } from '@dampl/clip';

/** Images of a list of files as one [N, 3, R, R] array, CLIP-preprocessed. */
export async function loadPixels(files: string[], size: number): Promise<Float32Array> {
  const cfg = clipPreprocess(size);
  const per = 3 * size * size;
  const out = new Float32Array(files.length * per);
  for (let i = 0; i < files.length; i++) out.set(await loadImage(files[i]!, cfg), i * per);
  return out;
}

/** One view of an augmented image: see `SynthPretrainConfig.augment`. */
export interface AugmentView {
  flip: boolean;
  /** Side of the crop over the image side, in (0, 1]. */
  scale: number;
  /** Move of the crop's centre in pixels (right, down). */
  dx: number;
  dy: number;
}

/**
 * Writes the view `v` of the [3, R, R] image `src` into `dst` at `offset`: the square crop of side
 * v.scale * R centred at (R/2 + v.dx, R/2 + v.dy), sampled bilinearly with edge clamping onto an
 * R x R grid, mirrored left-right when v.flip. An unscaled view with integer moves copies pixels.
 */
export function augmentImage(src: Float32Array, size: number, v: AugmentView, dst: Float32Array, offset = 0): void {
  const plane = size * size;
  const clamp = (i: number) => (i < 0 ? 0 : i >= size ? size - 1 : i);
  const x0 = new Int32Array(size);
  const x1 = new Int32Array(size);
  const wx = new Float32Array(size);
  const y0 = new Int32Array(size);
  const y1 = new Int32Array(size);
  const wy = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const c = (i + 0.5 - size / 2) * v.scale - 0.5 + size / 2;
    const sx = c + v.dx;
    const sy = c + v.dy;
    const fx = Math.floor(sx);
    const fy = Math.floor(sy);
    const o = v.flip ? size - 1 - i : i;
    x0[o] = clamp(fx); x1[o] = clamp(fx + 1); wx[o] = sx - fx;
    y0[i] = clamp(fy); y1[i] = clamp(fy + 1); wy[i] = sy - fy;
  }
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * plane;
    for (let y = 0; y < size; y++) {
      const r0 = base + y0[y]! * size;
      const r1 = base + y1[y]! * size;
      const b = wy[y]!;
      const out = offset + base + y * size;
      for (let x = 0; x < size; x++) {
        const a = wx[x]!;
        const top = a === 0 ? src[r0 + x0[x]!]! : (1 - a) * src[r0 + x0[x]!]! + a * src[r0 + x1[x]!]!;
        const bottom = b === 0 ? 0 : a === 0 ? src[r1 + x0[x]!]! : (1 - a) * src[r1 + x0[x]!]! + a * src[r1 + x1[x]!]!;
        dst[out + x] = b === 0 ? top : (1 - b) * top + b * bottom;
      }
    }
  }
}
