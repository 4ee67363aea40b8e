/**
 * The number formats of safetensors' float dtypes, to and from float32: IEEE half (F16), bfloat16
 * (BF16) and the two 8-bit floats (F8_E5M2, F8_E4M3); and a tensor's values as float32 or int32.
 */
import { FormatError } from './errors.js';
import type { SafeTensor } from './safetensors.js';

/** IEEE half to float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Float to IEEE half, round to nearest even. */
export function f32ToF16(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** bfloat16 to float: the high 16 bits of a float32. */
export function bf16ToF32(h: number): number {
  u32buf[0] = h << 16;
  return f32buf[0]!;
}

/** Float to bfloat16, round to nearest even. */
export function f32ToBf16(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff)) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

function f8ToF32(v: number, expBits: number, bias: number, ieeeInf: boolean): number {
  const mantBits = 7 - expBits;
  const s = v & 0x80 ? -1 : 1;
  const e = (v >> mantBits) & ((1 << expBits) - 1);
  const m = v & ((1 << mantBits) - 1);
  const maxE = (1 << expBits) - 1;
  if (ieeeInf && e === maxE) return m ? NaN : s * Infinity;
  if (!ieeeInf && e === maxE && m === (1 << mantBits) - 1) return NaN; // E4M3FN: only S.1111.111 is NaN
  if (e === 0) return s * (m / (1 << mantBits)) * 2 ** (1 - bias);
  return s * (1 + m / (1 << mantBits)) * 2 ** (e - bias);
}

/** Converts a tensor of any floating or integer dtype to float32 values. */
export function toFloat32(t: SafeTensor): Float32Array {
  const { dtype, data } = t;
  if (dtype === 'F32') return data as Float32Array;
  const out = new Float32Array(data.length);
  switch (dtype) {
    case 'F16': for (let i = 0; i < out.length; i++) out[i] = f16ToF32((data as Uint16Array)[i]!); break;
    case 'BF16': for (let i = 0; i < out.length; i++) out[i] = bf16ToF32((data as Uint16Array)[i]!); break;
    case 'F8_E5M2': for (let i = 0; i < out.length; i++) out[i] = f8ToF32((data as Uint8Array)[i]!, 5, 15, true); break;
    case 'F8_E4M3': for (let i = 0; i < out.length; i++) out[i] = f8ToF32((data as Uint8Array)[i]!, 4, 7, false); break;
    case 'I64': case 'U64': for (let i = 0; i < out.length; i++) out[i] = Number((data as BigInt64Array)[i]!); break;
    default: for (let i = 0; i < out.length; i++) out[i] = Number(data[i]!);
  }
  return out;
}

/** Converts a tensor of an integer dtype to int32 values; values outside int32 are an error. */
export function toInt32(t: SafeTensor, where = 'tensor'): Int32Array {
  if (t.dtype === 'I32') return t.data as Int32Array;
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(t.data[i]!);
    if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) throw new FormatError(`${where}: value ${v} at index ${i} is not an int32`);
    out[i] = v;
  }
  return out;
}
