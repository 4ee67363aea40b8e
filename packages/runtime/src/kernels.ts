/**
 * Which kernels run the wasm and cpu backends' heavy work, for `dampl doctor` and every run
 * record: the native addon (native/, built by npm ci) and the BLAS it opened, or why not and the
 * command that brings one; the CPU features the kernels can use; tfjs-wasm's threads; and what
 * the BLAS is worth here, measured on the spot as the GFLOP/s of one float32 product.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { blasName } from './backend.js';
import { NATIVE_ADDON_PATH, disableNativeKernels, enableNativeKernels, loadNativeBlas, nativeBlasError, nativeKernelsActive, type NativeBlasInfo } from './native.js';
import { workspaceRoot } from './fs.js';

export interface KernelReport {
  addon: { built: boolean; path: string };
  blas?: NativeBlasInfo & { name: string; coretype?: string };
  /** Why no BLAS runs the products (with what to do), when none does. */
  blasError?: string;
  /** The vector extensions the CPU has, of those the kernels use. */
  cpu: string[];
}

const FEATURES = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16', 'avx512_vnni', 'amx_bf16', 'neon', 'asimd'];

function cpuFeatures(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    const flags = new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
    return FEATURES.filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

export function kernelReport(): KernelReport {
  const blas = loadNativeBlas();
  const addon = { built: existsSync(NATIVE_ADDON_PATH), path: path.relative(workspaceRoot, NATIVE_ADDON_PATH) };
  return {
    addon,
    ...(blas ? { blas: { ...blas, name: blasName(blas), coretype: process.env.OPENBLAS_CORETYPE } } : { blasError: nativeBlasError() }),
    cpu: cpuFeatures(),
  };
}

/** One line of provenance: the kernels a run's matrix products and frozen blocks ran on. */
export function kernelLine(backend: string): string {
  if (backend !== 'wasm' && backend !== 'cpu') return `${backend}'s own kernels`;
  const r = kernelReport();
  return nativeKernelsActive(backend) && r.blas
    ? `native: ${r.blas.name}${r.blas.coretype ? `, OPENBLAS_CORETYPE=${r.blas.coretype}` : ''}; fused kernels ${r.blas.kernels}`
    : `tfjs ${backend} kernels (${r.blasError ?? 'native turned off'})`;
}

/**
 * GFLOP/s of an n x n x n float32 product on the active wasm or cpu backend, with the native
 * BLAS and without (tfjs's own kernel): the median of 5 after a warm-up. `native` is undefined
 * where no BLAS loads.
 */
export async function productGflops(n = 512): Promise<{ n: number; tfjs: number; native?: number }> {
  const backend = tf.getBackend();
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const time = async () => {
    const seconds: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      if (i) seconds.push((performance.now() - t0) / 1000);
    }
    return (2 * n ** 3) / [...seconds].sort((x, y) => x - y)[2]! / 1e9;
  };
  const wasNative = nativeKernelsActive(backend);
  try {
    disableNativeKernels(backend);
    const tfjs = await time();
    const native = enableNativeKernels(backend) ? await time() : undefined;
    return { n, tfjs, ...(native !== undefined ? { native } : {}) };
  } finally {
    if (wasNative) enableNativeKernels(backend);
    else disableNativeKernels(backend);
    tf.dispose([a, b]);
  }
}
