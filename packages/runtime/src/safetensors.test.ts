import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, SafetensorsFile, parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, type SafeDtype, type SafeTensor } from './safetensors.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, toFloat32 } from './float-formats.js';
import { FormatError } from './errors.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'st-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

function sample(dtype: SafeDtype, shape: number[]): SafeTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(n * DTYPE_BYTES[dtype]);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
  const { tensors } = parseSafetensors(serializeSafetensors({ x: { dtype: 'U8', shape: [bytes.length], data: bytes } }));
  const u8 = tensors.get('x')!.data as Uint8Array;
  // Re-view the bytes as the dtype under test through a one-tensor file.
  const file = serializeSafetensors({ t: { dtype: 'U8', shape: [u8.length], data: u8 } });
  const header = JSON.stringify({ t: { dtype, shape, data_offsets: [0, u8.length] } });
  const h = Buffer.alloc(8); h.writeBigUInt64LE(BigInt(header.length));
  return parseSafetensors(Buffer.concat([h, Buffer.from(header), Buffer.from(file.subarray(file.length - u8.length))])).tensors.get('t')!;
}

describe('safetensors', () => {
  const dtypes = Object.keys(DTYPE_BYTES) as SafeDtype[];

  it.each(dtypes)('round-trips %s through a file', async (dtype) => {
    const t = sample(dtype, [3, 5]);
    const f = path.join(dir, `${dtype}.safetensors`);
    await writeSafetensors(f, { a: t, empty: { dtype, shape: [0, 4], data: sample(dtype, [0]).data } }, { kind: 'test' });
    const back = await readSafetensors(f);
    expect(back.metadata).toEqual({ kind: 'test' });
    const a = back.tensors.get('a')!;
    expect(a.dtype).toBe(dtype);
    expect(a.shape).toEqual([3, 5]);
    expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength))
      .toEqual(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    expect(back.tensors.get('empty')!.shape).toEqual([0, 4]);
  });

  it('reads one tensor lazily without loading the rest', async () => {
    const f = path.join(dir, 'lazy.safetensors');
    await writeSafetensors(f, { big: { dtype: 'F32', shape: [1000], data: new Float32Array(1000).fill(2) }, small: { dtype: 'I32', shape: [2], data: Int32Array.from([7, -8]) } });
    const st = await SafetensorsFile.open(f);
    expect(st.names.sort()).toEqual(['big', 'small']);
    expect(Array.from((await st.read('small')).data as Int32Array)).toEqual([7, -8]);
    await expect(st.read('nope')).rejects.toThrow(/no tensor named 'nope'/);
    await st.close();
  });

  it('converts F16 and BF16 exactly for representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, -0.333251953125]) expect(f16ToF32(f32ToF16(v))).toBe(v);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
    for (const v of [0, 1, -3.5, 2 ** 100, 0.15625]) expect(bf16ToF32(f32ToBf16(v))).toBe(v);
    const h = toFloat32({ dtype: 'F16', shape: [2], data: Uint16Array.from([f32ToF16(1.5), f32ToF16(-0.25)]) });
    expect(Array.from(h)).toEqual([1.5, -0.25]);
    const b = toFloat32({ dtype: 'BF16', shape: [1], data: Uint16Array.from([f32ToBf16(-6)]) });
    expect(Array.from(b)).toEqual([-6]);
    const l = toFloat32({ dtype: 'I64', shape: [2], data: BigInt64Array.from([5n, -9n]) });
    expect(Array.from(l)).toEqual([5, -9]);
  });

  it('rejects a truncated file with a clear error', async () => {
    const f = path.join(dir, 'cut.safetensors');
    await writeSafetensors(f, { w: { dtype: 'F32', shape: [64], data: new Float32Array(64) } });
    const bytes = await readFile(f);
    await writeFile(f, bytes.subarray(0, bytes.length - 10));
    await expect(SafetensorsFile.open(f)).rejects.toThrow(FormatError);
    await expect(SafetensorsFile.open(f)).rejects.toThrow(/tensor 'w' ends at byte 256 of a data section of 246 bytes[\s\S]*truncated/);
    await writeFile(f, bytes.subarray(0, 5));
    await expect(SafetensorsFile.open(f)).rejects.toThrow(/too short/);
    await writeFile(f, bytes.subarray(0, 20));
    await expect(SafetensorsFile.open(f)).rejects.toThrow(/does not fit/);
  });

  it('rejects corrupt headers: bad JSON, unknown dtype, byte-length mismatch, overlap', () => {
    const make = (header: string, dataBytes = 16) => {
      const h = Buffer.alloc(8); h.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
      return Buffer.concat([h, Buffer.from(header), Buffer.alloc(dataBytes)]);
    };
    expect(() => parseSafetensors(make('{"a": {"dtype": "F32", '))).toThrow(/not valid JSON/);
    expect(() => parseSafetensors(make('[1,2]'))).toThrow(/not a JSON object/);
    expect(() => parseSafetensors(make('{"a": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}'))).toThrow(/unknown dtype "F31"/);
    expect(() => parseSafetensors(make('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}'))).toThrow(/needs 8 bytes but its offsets span 4/);
    expect(() => parseSafetensors(make('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}'))).toThrow(/'a' and 'b' overlap/);
    expect(() => parseSafetensors(make('{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}'))).toThrow(/invalid shape/);
    const huge = Buffer.alloc(16); huge.writeBigUInt64LE(10n ** 12n);
    expect(() => parseSafetensors(huge)).toThrow(/implausible/);
  });

  it('writes atomically: a failed write leaves the previous file intact', async () => {
    const f = path.join(dir, 'atomic.safetensors');
    await writeSafetensors(f, { a: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
    await expect(writeSafetensors(f, { a: { dtype: 'F32', shape: [3], data: Float32Array.from([1]) } })).rejects.toThrow(/needs 12 bytes/);
    expect(Array.from((await readSafetensors(f)).tensors.get('a')!.data as Float32Array)).toEqual([1]);
  });
});
