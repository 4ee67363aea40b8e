/**
 * Native matrix products for the `wasm` and `cpu` backends.
 *
 * tfjs-wasm runs a matMul at about 20 GFLOP/s on one thread, and far slower when an operand is
 * transposed (every gradient) or when many small products are batched (attention). The addon in
 * `packages/runtime/native/` (built at install time by `native/build.mjs` with the system C
 * compiler and Node's headers) calls `cblas_sgemm` of a BLAS library opened at run time, on the
 * tensors' own memory (the wasm heap, or the cpu backend's arrays) with no copy. This module
 * replaces the `BatchMatMul` kernel of those backends with it; anything it does not handle
 * (non-float32, empty or unusually broadcast operands) goes to the backend's own kernel.
 *
 * Both kernels compute the same sums in a different order, so results agree to float32 rounding
 * (the CLIP goldens hold on both; `native.test.ts` compares them directly).
 *
 * Environment:
 *   DAMPL_NATIVE=0        keep the backends' own kernels
 *   DAMPL_BLAS=/path.so   the BLAS library to open (default: OpenBLAS, then the system libblas)
 *   OPENBLAS_CORETYPE     OpenBLAS kernel family; when unset it is chosen from the CPU's flags,
 *                         because OpenBLAS 0.3.21 falls back to its SSE3 kernels ("Prescott") on
 *                         CPUs newer than it knows (5-8x slower).
 *   OPENBLAS_THREAD_TIMEOUT  how long OpenBLAS's idle threads spin before they sleep, 2^n cycles
 *                         (OpenBLAS: 28, about 0.1 s); set to 16 (about 20 us) when unset, so that
 *                         the threads of one product do not spin through the fused kernels that
 *                         follow it and take the cores they run on (measured: the DAMPL step on
 *                         2 cores about 10% faster)
 *   OPENBLAS_NUM_THREADS  the BLAS's threads, also those of the fused kernels (default: the
 *                         machine's cores; `dampl bench run --jobs N` gives each worker
 *                         floor(cores / N), so that N workers do not fight over the cores)
 *   DAMPL_KERNELS         the fused kernels' code path (avx512, avx2, sse2; generic off x86-64);
 *                         default: the best the CPU runs, chosen when the addon loads
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';

const require = createRequire(import.meta.url);

/** The addon's interface (native/src). */
interface BlasAddon {
  load(path: string): void;
  info(): { library?: string; config?: string; threads?: number; corename?: string; kernels?: string; kernelPaths?: string };
  setKernels(name: string): void;
  fmaPeak(seconds: number, threads: number): number;
  sgemm(
    a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, strideA: number, strideB: number,
  ): void;
  [op: string]: unknown;
}

export interface NativeBlasInfo {
  /** The library opened, e.g. libopenblas.so.0. */
  library: string;
  /** Its build description (OpenBLAS: version and kernel family). */
  config: string;
  threads: number;
  /** The kernel family OpenBLAS chose (Haswell, SkylakeX, Cooperlake, ...), when it says. */
  corename?: string;
  /** The code path the fused kernels run (avx512, avx2, sse2, generic). */
  kernels: string;
  /** The paths this build and CPU can run, best first. */
  kernelPaths: string[];
}

/** Where the build script puts the addon. */
export const NATIVE_ADDON_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'build', 'dampl_blas.node');

const LIBRARY_CANDIDATES = [
  'libopenblas.so.0', 'libopenblas.so', 'libopenblasp-r0.3.so', 'libblis.so.4', 'libmkl_rt.so', 'libblas.so.3',
  'libopenblas.dylib', '/opt/homebrew/opt/openblas/lib/libopenblas.dylib', '/usr/local/opt/openblas/lib/libopenblas.dylib',
  '/System/Library/Frameworks/Accelerate.framework/Accelerate',
];

/** OPENBLAS_THREAD_TIMEOUT where the environment leaves it unset (see the module's doc). */
const OPENBLAS_THREAD_TIMEOUT = 16;

let addon: BlasAddon | undefined;
let loadError: string | undefined;
let blasInfo: NativeBlasInfo | undefined;

/** OpenBLAS kernel family for this CPU from /proc/cpuinfo, or undefined to let OpenBLAS decide. */
export function openblasCoretype(cpuinfo?: string): string | undefined {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return undefined;
  const flags = new Set(line.split(':')[1]!.trim().split(/\s+/));
  if (flags.has('avx512f') && flags.has('avx512bw') && flags.has('avx512vl')) {
    return flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  }
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return undefined;
}

/**
 * Loads the addon and a BLAS library once; returns what was loaded, or undefined with the reason
 * in `nativeBlasError()`.
 */
export function loadNativeBlas(): NativeBlasInfo | undefined {
  if (blasInfo || loadError) return blasInfo;
  if (process.env.DAMPL_NATIVE === '0') {
    loadError = 'DAMPL_NATIVE=0';
    return undefined;
  }
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `the native addon is not built (${path.relative(process.cwd(), NATIVE_ADDON_PATH)}): run 'node packages/runtime/native/build.mjs' (needs a C compiler)`;
    return undefined;
  }
  let mod: BlasAddon;
  try {
    mod = require(NATIVE_ADDON_PATH) as BlasAddon;
  } catch (e) {
    loadError = `the native addon failed to load: ${String((e as Error).message).split('\n')[0]}; rebuild it with 'node packages/runtime/native/build.mjs'`;
    return undefined;
  }
  if (!process.env.OPENBLAS_CORETYPE) {
    const core = openblasCoretype();
    if (core) process.env.OPENBLAS_CORETYPE = core;
  }
  // read by OpenBLAS when it is opened (below)
  process.env.OPENBLAS_THREAD_TIMEOUT ??= String(OPENBLAS_THREAD_TIMEOUT);
  const candidates = process.env.DAMPL_BLAS ? [process.env.DAMPL_BLAS] : LIBRARY_CANDIDATES;
  const errors: string[] = [];
  for (const lib of candidates) {
    try {
      mod.load(lib);
      const i = mod.info();
      addon = mod;
      blasInfo = {
        library: i.library ?? lib, config: i.config || lib, threads: i.threads ?? 1, ...(i.corename ? { corename: i.corename } : {}),
        kernels: i.kernels ?? 'unknown', kernelPaths: (i.kernelPaths ?? '').split(',').filter(Boolean),
      };
      return blasInfo;
    } catch (e) {
      errors.push(String((e as Error).message));
    }
  }
  loadError = process.env.DAMPL_BLAS
    ? `DAMPL_BLAS=${process.env.DAMPL_BLAS} could not be used: ${errors[0]}`
    : 'no BLAS library with cblas_sgemm found: install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread; macOS: brew install openblas) or set DAMPL_BLAS';
  return undefined;
}

/**
 * Runs the fused kernels on code path `name` (one of `kernelPaths`), e.g. to compare the paths in
 * one process; a ConfigError names the paths where this build or CPU has no such path.
 */
export function setNativeKernelPath(name: string): NativeBlasInfo {
  const info = loadNativeBlas();
  if (!info || !addon) throw new ConfigError(`no native kernels to switch: ${nativeBlasError()}`);
  try {
    addon.setKernels(name);
  } catch (e) {
    throw new ConfigError(String((e as Error).message), `DAMPL_KERNELS takes one of ${info.kernelPaths.join(', ')}`);
  }
  info.kernels = name;
  return info;
}

/**
 * The fp32 multiply-add peak of this machine on the fused kernels' code path: FLOP/s of
 * independent FMA chains in the path's widest vectors on `threads` threads, each running about
 * `seconds` (runtime/native/src/peak.c). Undefined without the addon.
 */
export function fmaPeak(seconds = 1, threads = loadNativeBlas()?.threads ?? 1): number | undefined {
  return loadNativeBlas() && addon ? addon.fmaPeak(seconds, threads) : undefined;
}

/** Why the native products are not available (undefined once loaded). */
export function nativeBlasError(): string | undefined {
  loadNativeBlas();
  return blasInfo ? undefined : loadError;
}

interface MatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: unknown;
  attrs: { transposeA: boolean; transposeB: boolean };
}

interface Plan {
  batch: number; m: number; n: number; k: number; strideA: number; strideB: number; outShape: number[];
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Shapes of a batched product in the form the addon takes, or undefined when it cannot take it. */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): Plan | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = tb ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return undefined; // the backend's kernel throws its own message
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  let outer: number[];
  if (batchA === batchB) outer = outerA.length >= outerB.length ? outerA : outerB;
  else if (batchA === 1) outer = outerB.length >= outerA.length ? outerB : [...outerA.slice(0, outerA.length - outerB.length), ...outerB];
  else if (batchB === 1) outer = outerA.length >= outerB.length ? outerA : [...outerB.slice(0, outerB.length - outerA.length), ...outerA];
  else return undefined;
  if (batchA === batchB && outerA.length && outerB.length && outerA.join() !== outerB.join()) return undefined;
  const batch = Math.max(batchA, batchB);
  if (batch * m * n === 0) return undefined;
  return {
    batch, m, n, k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    outShape: [...outer, m, n],
  };
}

interface WasmBackendLike {
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

interface CpuBackendLike {
  data: { get(id: unknown): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

function wasmKernel({ inputs: { a, b }, backend, attrs }: MatMulArgs): tf.TensorInfo | undefined {
  const p = plan(a, b, attrs.transposeA, attrs.transposeB);
  if (!p) return undefined;
  const be = backend as WasmBackendLike;
  const out = be.makeOutput(p.outShape, 'float32');
  const heap = be.wasm.HEAPU8.buffer; // after makeOutput, which may grow (and replace) the heap
  const view = (t: tf.TensorInfo, n: number) => new Float32Array(heap, be.dataIdMap.get(t.dataId).memoryOffset, n);
  addon!.sgemm(
    view(a, size(a.shape)), view(b, size(b.shape)), view(out, size(p.outShape)),
    p.batch, p.m, p.n, p.k, attrs.transposeA, attrs.transposeB, p.strideA, p.strideB,
  );
  return out;
}

function cpuKernel({ inputs: { a, b }, backend, attrs }: MatMulArgs): tf.TensorInfo | undefined {
  const p = plan(a, b, attrs.transposeA, attrs.transposeB);
  if (!p) return undefined;
  const be = backend as CpuBackendLike;
  const va = be.data.get(a.dataId).values;
  const vb = be.data.get(b.dataId).values;
  if (!(va instanceof Float32Array) || !(vb instanceof Float32Array)) return undefined;
  const c = new Float32Array(size(p.outShape));
  addon!.sgemm(va, vb, c, p.batch, p.m, p.n, p.k, attrs.transposeA, attrs.transposeB, p.strideA, p.strideB);
  return be.makeTensorInfo(p.outShape, 'float32', c);
}

const KERNELS: Record<string, (args: MatMulArgs) => tf.TensorInfo | undefined> = { wasm: wasmKernel, cpu: cpuKernel };

/**
 * Fused row-wise kernels of the transformer block (native/src: layernorm.c, gelu.c, attention.c, ...), multi-threaded:
 *   layerNorm      inputs [x, w, b]          numbers [rows, cols, eps]
 *   layerNormGrad  inputs [x, dy, w, base?]  numbers [rows, cols, eps]   (base: added to dx; may be null)
 *   quickGelu      inputs [x]                numbers [n]
 *   quickGeluGrad  inputs [x, dy]            numbers [n]
 *   dense          inputs [x, w, b, r]       numbers [m, n, k]           (r + x w + b in one sgemm; b, r may be null)
 *   attention      inputs [qkv]              numbers [groups, lp, branches, ls, branchMajor, heads, d, causal, scale]
 *                  qkv [rows, 3W] = q | k | v per row -> [rows, W]: softmax(scale q k^T) v per sequence
 *                  and head. The rows are `groups` shared prefixes of lp rows, then groups * branches
 *                  branches of ls rows, each attending to its group's prefix and itself (branch j is
 *                  group j % groups with branchMajor, j / branches otherwise); a plain batch of n
 *                  sequences of l rows is [n, 0, 1, l, false, ...]. causal: row i sees rows <= i
 *                  (a prefix needs it)
 *   attentionGrad  inputs [qkv, do]          numbers as attention
 *                  -> [rows, 3W] = dq | dk | dv given do [rows, W] (weights recomputed)
 *   patches        inputs [x]                numbers [n, c, r, p]
 *                  x [n, c, r, r] -> [n * (r/p)^2, c*p*p]: p x p patches, values in (c, kh, kw) order
 *   conv2d         inputs [x, w, b, r]       numbers [n, h, wd, c, kh, kw, stride, pad, oc, relu]
 *                  x [n, h, wd, c] (NHWC), w [kh, kw, c, oc] -> [n, oh, ow, oc] = r + b + the
 *                  convolution with zero padding `pad` (b, r may be null), then max(0, .) where
 *                  relu: gathered pixels times w, in chunks
 * They have no gradients of their own: they are meant for the inside of custom-gradient ops.
 */
export type NativeOp = 'layerNorm' | 'layerNormGrad' | 'quickGelu' | 'quickGeluGrad' | 'dense' | 'attention' | 'attentionGrad' | 'patches' | 'conv2d';
const NATIVE_KERNEL = 'DamplNative';

interface NativeAttrs {
  op: NativeOp;
  outShape: number[];
  numbers: (number | boolean)[];
  /** Positions of null inputs. */
  nulls: number[];
  count: number;
}

function nativeOpKernel(args: { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const a = args.attrs as NativeAttrs;
  const n = size(a.outShape);
  const infos = Array.from({ length: a.count }, (_, i) => (a.nulls.includes(i) ? null : args.inputs[`i${i}`]!));
  const call = (views: (Float32Array | null)[], out: Float32Array) => (addon![a.op] as (...x: unknown[]) => void)(...views, out, ...a.numbers);
  if (tf.getBackend() === 'wasm') {
    const be = args.backend as WasmBackendLike;
    const out = be.makeOutput(a.outShape, 'float32');
    const heap = be.wasm.HEAPU8.buffer; // after makeOutput, which may grow the heap
    const view = (t: tf.TensorInfo) => new Float32Array(heap, be.dataIdMap.get(t.dataId).memoryOffset, size(t.shape));
    call(infos.map((t) => (t ? view(t) : null)), view(out));
    return out;
  }
  const be = args.backend as CpuBackendLike;
  const values = new Float32Array(n);
  call(infos.map((t) => (t ? (be.data.get(t.dataId).values as Float32Array) : null)), values);
  return be.makeTensorInfo(a.outShape, 'float32', values);
}

/** Whether the fused native kernels run on the active backend (wasm or cpu with the addon loaded). */
export function nativeOpsActive(): boolean {
  return nativeKernelsActive() && typeof addon?.layerNorm === 'function';
}

/** Runs one fused native kernel (see NativeOp) on float32 tensors of the active backend. */
export function nativeOp(op: NativeOp, inputs: (tf.Tensor | null)[], outShape: number[], numbers: (number | boolean)[]): tf.Tensor {
  if (!nativeOpsActive()) throw new Error(`native op ${op}: the native kernels are not active on backend '${tf.getBackend()}'`);
  const named: Record<string, tf.Tensor> = {};
  const nulls: number[] = [];
  inputs.forEach((t, i) => {
    if (!t) nulls.push(i);
    else {
      if (t.dtype !== 'float32') throw new Error(`native op ${op}: input ${i} is ${t.dtype}, not float32`);
      named[`i${i}`] = t;
    }
  });
  const attrs: NativeAttrs = { op, outShape, numbers, nulls, count: inputs.length };
  return tf.engine().runKernel(NATIVE_KERNEL, named as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
const originals = new Map<string, tf.KernelConfig>();

/**
 * Routes the backend's matrix products through the native BLAS. Returns what was loaded, or
 * undefined (with `nativeBlasError()` saying why) when the backend keeps its own kernel.
 */
export function enableNativeKernels(backendName: string): NativeBlasInfo | undefined {
  const kernel = KERNELS[backendName];
  if (!kernel || !loadNativeBlas()) return undefined;
  const want = process.env.DAMPL_KERNELS;
  if (want && blasInfo!.kernels !== want) {
    throw new ConfigError(`DAMPL_KERNELS=${want}: no such code path of the native kernels here`, `use one of ${blasInfo!.kernelPaths.join(', ')}, or unset it for the best this CPU runs`);
  }
  if (originals.has(backendName)) return blasInfo;
  const original = tf.getKernel('BatchMatMul', backendName);
  if (!original) return undefined;
  if (!tf.getKernel(NATIVE_KERNEL, backendName)) {
    tf.registerKernel({ kernelName: NATIVE_KERNEL, backendName, kernelFunc: nativeOpKernel as unknown as tf.KernelFunc });
  }
  originals.set(backendName, original);
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => kernel(args as unknown as MatMulArgs) ?? (original.kernelFunc(args) as tf.TensorInfo),
  });
  return blasInfo;
}

/** Puts the backend's own matMul kernel back. */
export function disableNativeKernels(backendName: string): void {
  const original = originals.get(backendName);
  if (!original) return;
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel(original);
  originals.delete(backendName);
}

/** Whether the backend's matrix products run through the native BLAS now. */
export function nativeKernelsActive(backendName: string = tf.getBackend()): boolean {
  return originals.has(backendName);
}
