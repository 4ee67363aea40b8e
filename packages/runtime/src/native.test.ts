import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import './ops.js';
import { nativeBlasError, nativeKernelsActive, openblasCoretype } from './native.js';

describe('openblasCoretype', () => {
  const cpuinfo = (flags: string) => `processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: ${flags}\n`;
  it('picks the kernel family from the CPU flags', () => {
    expect(openblasCoretype(cpuinfo('fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_bf16'))).toBe('Cooperlake');
    expect(openblasCoretype(cpuinfo('fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl'))).toBe('SkylakeX');
    expect(openblasCoretype(cpuinfo('fpu sse sse2 avx avx2 fma'))).toBe('Haswell');
    expect(openblasCoretype(cpuinfo('fpu sse sse2 avx'))).toBeUndefined();
    expect(openblasCoretype('no flags line')).toBeUndefined();
  });
});

describe('selectBackend without native products', () => {
  it('keeps the backend kernel when asked, and says so', async () => {
    const r = await selectBackend('wasm', { native: false });
    expect(r.native).toBeUndefined();
    expect(r.nativeSkipped).toBe('turned off');
    expect(nativeKernelsActive('wasm')).toBe(false);
    const again = await selectBackend('wasm');
    if (!nativeBlasError()) expect(again.native?.library).toBeTruthy();
  });
});
