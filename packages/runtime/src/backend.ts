/**
 * Compute backend selection. All model code is written against `@tensorflow/tfjs-core`; this
 * module registers and activates one backend for the run:
 *
 *   tensorflow  native libtensorflow from `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`
 *               (optional dependencies: their install downloads a binary that is not reachable
 *               everywhere; the GPU build links CUDA 11.2 and cuDNN 8.1)
 *   webgpu      `@tensorflow/tfjs-backend-webgpu` on Dawn from the `webgpu` package, over the GPU
 *               vendor's Vulkan, Metal or D3D12 driver (see webgpu.ts)
 *   wasm        `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD), its matrix products and CLIP's
 *               frozen blocks on the native kernels where they load (native.ts)
 *   cpu         `@tensorflow/tfjs-backend-cpu` (plain JavaScript, slowest)
 *
 * `auto` takes the first that loads in that order, with webgpu only on a hardware adapter (a
 * software one runs on the CPU, slower than wasm), and reports why each faster one was passed
 * over. A named backend that cannot be used is an error naming it and what it needs.
 *
 * Results computed on different backends differ in float32 rounding; `backendFamily` names the
 * groups whose results a resumed grid may mix (wasm and cpu share the native kernels).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from './errors.js';
import { shareWasmIdentity } from './wasm-kernels.js';
import { disableNativeKernels, enableNativeKernels, nativeBlasError, type NativeBlasInfo } from './native.js';
import {
  activateWebgpu, describeAdapter, probeWebgpuAdapter, softwareAdapter, summariseDawnMessages,
  type AdapterInfo, type WebgpuProbe,
} from './webgpu.js';

export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

/** Backends whose results a grid may mix: wasm and cpu run the same native kernels. */
export type BackendFamily = 'tensorflow' | 'webgpu' | 'wasm/cpu';

export function backendFamily(name: BackendName): BackendFamily {
  return name === 'wasm' || name === 'cpu' ? 'wasm/cpu' : name;
}

export interface BackendReport {
  /** The backend now active in tfjs. */
  name: BackendName;
  family: BackendFamily;
  /** Why each backend tried before it was not used. */
  skipped: { name: BackendName; reason: string }[];
  /** What it runs on, e.g. "wasm (XNNPACK, 1 thread)" or a GPU adapter's description. */
  device: string;
  /** wasm: the threads of tfjs-wasm's own kernels (1 in Node, whose threaded build does not run there). */
  threads?: number;
  /** The webgpu adapter. */
  adapter?: AdapterInfo;
  /** The BLAS library that runs its matrix products (wasm and cpu, see native.ts), if any. */
  native?: NativeBlasInfo;
  /** Why a wasm or cpu backend runs its own matrix products. */
  nativeSkipped?: string;
}

/** Loads a package by name (tests stub it). */
export type PackageImporter = (pkg: string) => Promise<unknown>;

export interface SelectOptions {
  /** Route wasm/cpu matrix products through the native BLAS when it loads (default true; DAMPL_NATIVE=0 also turns it off). */
  native?: boolean;
  /** How the tfjs-node packages are loaded (default: import). */
  importPackage?: PackageImporter;
  /** Dawn's adapter as the child-process probe finds it (default: probeWebgpuAdapter). */
  webgpuProbe?: () => WebgpuProbe;
}

const require = createRequire(import.meta.url);

const TF_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** What each tfjs-node package needs beyond itself. */
const TF_NEEDS: Record<(typeof TF_PACKAGES)[number], string> = {
  '@tensorflow/tfjs-node-gpu': 'tfjs-node-gpu 4.22 links CUDA 11.2 and cuDNN 8.1 (libcudart.so.11.0, libcudnn.so.8); on a host with CUDA 12 or 13 use the webgpu backend',
  '@tensorflow/tfjs-node': 'its install script downloads libtensorflow (run npm rebuild @tensorflow/tfjs-node where that download is reachable)',
};

/** Why a tfjs-node package did not load, and what it needs: one line. */
export function explainTensorflowFailure(pkg: (typeof TF_PACKAGES)[number], e: unknown): string {
  const err = e as { code?: string; message?: string };
  const text = String(err?.message ?? e);
  if ((err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && !/tfjs_binding\.node/.test(text)) return `${pkg} is not installed`;
  if (/tfjs_binding\.node/.test(text)) return `${pkg} is installed without its native binding (${TF_NEEDS[pkg]})`;
  const lib = /(lib[\w+-]+(?:\.[\w+-]+)*\.so(?:\.[\d.]+)?)/.exec(text)?.[1];
  if (lib) return `${pkg} is installed but its binding did not load: ${lib} is missing (${TF_NEEDS[pkg]})`;
  return `${pkg} did not load: ${firstLine(e)} (${TF_NEEDS[pkg]})`;
}

async function probeTensorflow(importPackage: PackageImporter): Promise<string> {
  const errors: string[] = [];
  for (const pkg of TF_PACKAGES) {
    try {
      await importPackage(pkg);
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
      errors.push(explainTensorflowFailure(pkg, e));
    }
  }
  throw new Error(errors.join('; '));
}

/** webgpu for `auto`: only on a hardware adapter, found first in a child process. */
async function probeWebgpuAuto(o: SelectOptions): Promise<{ device: string; adapter: AdapterInfo }> {
  const found = (o.webgpuProbe ?? probeWebgpuAdapter)();
  if (!found.adapter) throw new Error(found.error ?? 'Dawn found no GPU adapter');
  const software = softwareAdapter(found.adapter);
  if (software) throw new Error(`${describeAdapter(found.adapter)} is ${software}; --backend webgpu uses it anyway`);
  return activate();
}

/** webgpu as asked for: whatever adapter Dawn gives, software ones included. */
async function activate(): Promise<{ device: string; adapter: AdapterInfo }> {
  const adapter = await activateWebgpu();
  const software = softwareAdapter(adapter);
  return { device: `webgpu (${describeAdapter(adapter)}${software ? ', software: runs on the CPU' : ''})`, adapter };
}

async function probeWasm(): Promise<{ device: string; threads: number }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dir);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  shareWasmIdentity();
  const threads = wasm.getThreadsCount();
  return { device: `wasm (XNNPACK, ${threads} thread${threads === 1 ? '' : 's'})`, threads };
}

async function probeCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return 'cpu (JavaScript)';
}

const HOW_TO_GET: Record<BackendName, string> = {
  tensorflow: 'install @tensorflow/tfjs-node-gpu (CUDA 11.2 and cuDNN 8.1) or @tensorflow/tfjs-node where its libtensorflow download is reachable',
  webgpu: 'needs a GPU with a Vulkan (Linux: the vendor\'s driver and libvulkan1), Metal (macOS) or D3D12 (Windows) driver, and the optional webgpu package',
  wasm: 'reinstall dependencies (npm ci): @tensorflow/tfjs-backend-wasm is a regular dependency',
  cpu: 'reinstall dependencies (npm ci)',
};

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Activates `name`; for webgpu under `auto`, only on a hardware adapter. */
async function tryBackend(name: BackendName, auto: boolean, o: SelectOptions): Promise<Pick<BackendReport, 'device' | 'adapter' | 'threads'>> {
  switch (name) {
    case 'tensorflow': return { device: await probeTensorflow(o.importPackage ?? ((p) => import(p))) };
    case 'webgpu': return auto ? probeWebgpuAuto(o) : activate();
    case 'wasm': return probeWasm();
    case 'cpu': return { device: await probeCpu() };
  }
}

let active: BackendReport | undefined;
let activeChoice: BackendChoice | undefined;
let activeWantNative: boolean | undefined;

/**
 * Activates a backend. `auto` tries tensorflow, webgpu (hardware adapters only), wasm, cpu in that
 * order; a named backend that cannot be used throws BackendUnavailableError naming it and how to
 * get it.
 */
export async function selectBackend(choice: BackendChoice = 'auto', options: SelectOptions = {}): Promise<BackendReport> {
  const wantNative = options.native ?? true;
  if (choice !== 'auto' && !BACKENDS.includes(choice)) {
    throw new BackendUnavailableError(`unknown backend '${String(choice)}'`, `choose one of: auto, ${BACKENDS.join(', ')}`);
  }
  const stubbed = options.importPackage !== undefined || options.webgpuProbe !== undefined;
  if (!stubbed && active && (choice === activeChoice || choice === active.name) && tf.getBackend() === active.name && wantNative === activeWantNative) return active;
  const order: readonly BackendName[] = choice === 'auto' ? BACKENDS : [choice];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    try {
      const found = await tryBackend(name, choice === 'auto', options);
      await tf.ready();
      const report: BackendReport = { name, family: backendFamily(name), skipped, ...found, ...nativeFor(name, wantNative) };
      if (!stubbed) {
        active = report;
        activeChoice = choice;
        activeWantNative = wantNative;
      }
      return report;
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
    disableNativeKernels(name);
    return { nativeSkipped: 'turned off' };
  }
  const native = enableNativeKernels(name);
  return native ? { native } : { nativeSkipped: nativeBlasError() ?? 'unavailable' };
}

/** One backend as `dampl doctor` shows it. */
export interface BackendProbe {
  name: BackendName;
  /** It loads (webgpu: Dawn has an adapter). */
  ok: boolean;
  detail: string;
  /** Why `auto` passes it over although it loads (a software webgpu adapter). */
  autoSkips?: string;
  /** webgpu: Dawn's and the Vulkan loader's messages, summarised in one line. */
  messages?: string;
}

/**
 * Every backend without activating webgpu here (its adapter comes from the child-process probe,
 * so Dawn prints nothing), for `dampl doctor`; the previously active backend is restored.
 */
export async function probeBackends(options: SelectOptions = {}): Promise<BackendProbe[]> {
  const before = tf.getBackend();
  const out: BackendProbe[] = [];
  for (const name of BACKENDS) {
    if (name === 'webgpu') {
      const found = (options.webgpuProbe ?? probeWebgpuAdapter)();
      const messages = summariseDawnMessages(found.messages);
      if (!found.adapter) out.push({ name, ok: false, detail: `${found.error} (${HOW_TO_GET.webgpu})`, messages });
      else out.push({ name, ok: true, detail: `webgpu (${describeAdapter(found.adapter)})`, autoSkips: softwareAdapter(found.adapter), messages });
      continue;
    }
    try {
      out.push({ name, ok: true, detail: (await tryBackend(name, true, options)).device });
    } catch (e) {
      out.push({ name, ok: false, detail: `${firstLine(e)} (${HOW_TO_GET[name]})` });
    }
  }
  if (before && tf.findBackend(before)) await tf.setBackend(before);
  return out;
}

/** The backend `choice` resolves to among probed ones, as selectBackend would choose it. */
export function plannedBackend(rows: readonly BackendProbe[], choice: BackendChoice): BackendProbe | undefined {
  if (choice !== 'auto') return rows.find((r) => r.name === choice && r.ok);
  return rows.find((r) => r.ok && !r.autoSkips);
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
