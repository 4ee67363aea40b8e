/**
 * Compute backend selection. All model code is written against `@tensorflow/tfjs-core`; this
 * module registers and activates one backend for the run:
 *
 *   tensorflow  native libtensorflow from `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`
 *               (optional dependencies: their install downloads a binary that is not reachable
 *               everywhere)
 *   webgpu      `@tensorflow/tfjs-backend-webgpu` on Dawn from the `webgpu` package, when Dawn
 *               finds an adapter (Vulkan, Metal or D3D12)
 *   wasm        `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD)
 *   cpu         `@tensorflow/tfjs-backend-cpu` (plain JavaScript, slowest)
 *
 * `auto` takes the first that loads in that order and reports why each faster one was passed over.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from './errors.js';
import { shareWasmIdentity } from './wasm-kernels.js';
import { disableNativeMatMul, enableNativeMatMul, nativeBlasError, type NativeBlasInfo } from './native.js';

export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export interface BackendReport {
  /** The backend now active in tfjs. */
  name: BackendName;
  /** Why each backend tried before it was not used. */
  skipped: { name: BackendName; reason: string }[];
  /** What it runs on, e.g. "wasm (SIMD, 1 thread)" or a GPU adapter's description. */
  device: string;
  /** The BLAS library that runs its matrix products (wasm and cpu, see native.ts), if any. */
  native?: NativeBlasInfo;
  /** Why a wasm or cpu backend runs its own matrix products. */
  nativeSkipped?: string;
}

export interface SelectOptions {
  /** Route wasm/cpu matrix products through the native BLAS when it loads (default true; DAMPL_NATIVE=0 also turns it off). */
  native?: boolean;
}

const require = createRequire(import.meta.url);

type Probe = () => Promise<string>;

async function probeTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (!tf.findBackend('tensorflow')) {
        errors.push(`${pkg} loaded but registered its backend with another copy of tfjs-core (align the @tensorflow/* versions)`);
        continue;
      }
      if (!(await tf.setBackend('tensorflow'))) {
        errors.push(`${pkg} loaded but its backend failed to initialise`);
        continue;
      }
      return pkg.endsWith('gpu') ? 'libtensorflow (CUDA build)' : 'libtensorflow (CPU build)';
    } catch (e) {
      errors.push((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ? `${pkg} is not installed` : `${pkg}: ${firstLine(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

async function probeWebgpu(): Promise<string> {
  let webgpu: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(`the optional 'webgpu' package (Dawn) did not load: ${firstLine(e)}`);
  }
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no GPU adapter (no Vulkan/Metal/D3D12 device or driver)');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the tfjs webgpu backend failed to initialise on the adapter');
  const info = (adapter as { info?: { vendor?: string; architecture?: string; description?: string } }).info;
  return `webgpu (${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'adapter'})`;
}

async function probeWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dir);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  shareWasmIdentity();
  return `wasm (XNNPACK, ${wasm.getThreadsCount()} thread${wasm.getThreadsCount() === 1 ? '' : 's'})`;
}

async function probeCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return 'cpu (JavaScript)';
}

const PROBES: Record<BackendName, Probe> = {
  tensorflow: probeTensorflow,
  webgpu: probeWebgpu,
  wasm: probeWasm,
  cpu: probeCpu,
};

const HOW_TO_GET: Record<BackendName, string> = {
  tensorflow: 'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node where its libtensorflow download is reachable',
  webgpu: 'needs a GPU with a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver and the optional webgpu package',
  wasm: 'reinstall dependencies (npm ci): @tensorflow/tfjs-backend-wasm is a regular dependency',
  cpu: 'reinstall dependencies (npm ci)',
};

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

let active: BackendReport | undefined;
let activeChoice: BackendChoice | undefined;
let activeWantNative: boolean | undefined;

/**
 * Activates a backend. `auto` tries tensorflow, webgpu, wasm, cpu in that order; a named backend
 * that cannot be used throws BackendUnavailableError naming it and how to get it.
 */
export async function selectBackend(choice: BackendChoice = 'auto', options: SelectOptions = {}): Promise<BackendReport> {
  const wantNative = options.native ?? true;
  if (choice !== 'auto' && !BACKENDS.includes(choice)) {
    throw new BackendUnavailableError(`unknown backend '${String(choice)}'`, `choose one of: auto, ${BACKENDS.join(', ')}`);
  }
  if (active && (choice === activeChoice || choice === active.name) && tf.getBackend() === active.name && wantNative === activeWantNative) return active;
  const order: readonly BackendName[] = choice === 'auto' ? BACKENDS : [choice];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    try {
      const device = await PROBES[name]();
      await tf.ready();
      active = { name, skipped, device, ...nativeFor(name, wantNative) };
      activeChoice = choice;
      activeWantNative = wantNative;
      return active;
    } catch (e) {
      skipped.push({ name, reason: firstLine(e) });
    }
  }
  if (choice !== 'auto') {
    throw new BackendUnavailableError(`backend '${choice}' is not available: ${skipped[0]?.reason}`, HOW_TO_GET[choice]);
  }
  throw new BackendUnavailableError('no tfjs backend could be initialised', HOW_TO_GET.cpu);
}

/** Turns the native matrix products on or off for a wasm or cpu backend. */
function nativeFor(name: BackendName, want: boolean): Pick<BackendReport, 'native' | 'nativeSkipped'> {
  if (name !== 'wasm' && name !== 'cpu') return {};
  if (!want) {
    disableNativeMatMul(name);
    return { nativeSkipped: 'turned off' };
  }
  const native = enableNativeMatMul(name);
  return native ? { native } : { nativeSkipped: nativeBlasError() ?? 'unavailable' };
}

/** Tries every backend without keeping any active choice; for `dampl doctor`. */
export async function probeBackends(): Promise<{ name: BackendName; ok: boolean; detail: string }[]> {
  const before = active;
  const out: { name: BackendName; ok: boolean; detail: string }[] = [];
  for (const name of BACKENDS) {
    try {
      out.push({ name, ok: true, detail: await PROBES[name]() });
    } catch (e) {
      out.push({ name, ok: false, detail: `${firstLine(e)} (${HOW_TO_GET[name]})` });
    }
  }
  if (before) await tf.setBackend(before.name);
  return out;
}

/** The backend report of the last selectBackend call, if any. */
export function activeBackend(): BackendReport | undefined {
  return active;
}

/** Formats a report in one line: "wasm (XNNPACK, 1 thread); not tensorflow: ...; not webgpu: ...". */
export function describeBackend(r: BackendReport): string {
  const blas = r.native ? ` + ${blasName(r.native)}` : '';
  return [`${r.name}: ${r.device}${blas}`, ...r.skipped.map((s) => `not ${s.name}: ${s.reason}`)].join('; ');
}

/** "OpenBLAS 0.3.21 (Cooperlake kernels, 2 threads)" from a library's report. */
export function blasName(n: NativeBlasInfo): string {
  const m = /^OpenBLAS (\S+).*?\b(\w+) MAX_THREADS/.exec(n.config);
  const what = m ? `OpenBLAS ${m[1]} (${m[2]} kernels` : `${n.config} (`;
  return `${what}${m ? ', ' : ''}${n.threads} thread${n.threads === 1 ? '' : 's'}) sgemm`;
}
