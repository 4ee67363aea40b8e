/**
 * The webgpu backend's adapter: found in a child process, classed as hardware or software, and
 * activated in this process only when webgpu is used.
 *
 * Dawn (the `webgpu` package) and the Vulkan loader print their messages straight to the process's
 * standard error while adapters are enumerated ("Couldn't load Vulkan: libvulkan.so.1 ...", limits
 * it reduced for a driver). `probeWebgpuAdapter` runs the enumeration in a child process
 * (webgpu-probe.mjs) and keeps those messages apart, so a command that ends up on another backend
 * prints none of them, and `dampl doctor` can summarise them in one line.
 *
 * A software adapter (Dawn's fallback adapter, or Mesa's lavapipe / llvmpipe, or SwiftShader)
 * runs WebGPU on the CPU, about ten times slower than the wasm backend: `auto` passes it over, and
 * `--backend webgpu` still uses it (that is how the GPU code is tested on a machine without a GPU).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

/** What Dawn says of its adapter (GPUAdapterInfo and two of its limits). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

export interface WebgpuProbe {
  /** The adapter Dawn chose for 'high-performance', or none. */
  adapter?: AdapterInfo;
  /** Why there is none (the package did not load, no driver, the probe crashed). */
  error?: string;
  /** Dawn's and the Vulkan loader's messages, one per line, as printed. */
  messages: string[];
}

const PROBE_SCRIPT = fileURLToPath(new URL('./webgpu-probe.mjs', import.meta.url));
const PROBE_TIMEOUT_MS = 60_000;

let cached: WebgpuProbe | undefined;

/** Enumerates Dawn's adapter in a child process (once per process); never throws. */
export function probeWebgpuAdapter(): WebgpuProbe {
  if (cached) return cached;
  if (!existsSync(PROBE_SCRIPT)) return (cached = { error: `the adapter probe ${PROBE_SCRIPT} is missing`, messages: [] });
  const r = spawnSync(process.execPath, [PROBE_SCRIPT], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, env: process.env });
  const messages = (r.stderr ?? '').split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (r.error || !line) {
    const why = r.error ? r.error.message : r.signal ? `the probe was killed by ${r.signal}` : `the probe exited with status ${r.status}`;
    return (cached = { error: `Dawn's adapter probe failed: ${why}`, messages });
  }
  const parsed = JSON.parse(line) as { adapter?: AdapterInfo | null; error?: string };
  if (parsed.error) return (cached = { error: `the optional 'webgpu' package (Dawn) did not load: ${parsed.error}`, messages });
  if (!parsed.adapter) return (cached = { error: 'Dawn found no GPU adapter (no Vulkan, Metal or D3D12 device or driver)', messages });
  return (cached = { adapter: parsed.adapter, messages });
}

/** Software rasterisers by the names their adapters carry: Mesa's Vulkan driver lavapipe reports its llvmpipe device. */
const SOFTWARE: [RegExp, string][] = [[/lavapipe|llvmpipe/i, 'lavapipe'], [/swiftshader/i, 'SwiftShader']];

/** Why an adapter is a software rasteriser on the CPU, or undefined for a hardware one. */
export function softwareAdapter(a: AdapterInfo): string | undefined {
  const text = [a.vendor, a.architecture, a.device, a.description].join(' ');
  const named = SOFTWARE.find(([re]) => re.test(text))?.[1];
  if (named) return `the software adapter ${named}, which runs on the CPU, slower than wasm`;
  if (a.isFallbackAdapter) return `Dawn's fallback adapter, a software one, slower than wasm`;
  return undefined;
}

export function describeAdapter(a: AdapterInfo): string {
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' ') || 'adapter';
}

/**
 * Dawn's and the loader's messages in one line: each distinct message once, without its source
 * location, e.g. "2 messages: maxDynamicUniformBuffersPerPipelineLayout artificially reduced ...".
 */
export function summariseDawnMessages(lines: readonly string[]): string {
  const distinct = [...new Set(lines
    .filter((l) => !/^\s+at /.test(l))
    .map((l) => l.replace(/^(Warning|Error|Info):\s*/i, '').trim())
    .filter(Boolean))];
  if (!distinct.length) return 'no messages';
  const short = (s: string) => (s.length > 140 ? `${s.slice(0, 137)}...` : s);
  return `${distinct.length} message${distinct.length === 1 ? '' : 's'}: ${distinct.map(short).join('; ')}`;
}

/**
 * Activates tfjs's webgpu backend on Dawn in this process; returns the adapter it runs on.
 * Dawn prints its messages here: call it only when webgpu is to be used.
 */
export async function activateWebgpu(): Promise<AdapterInfo> {
  let webgpu: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    // eslint-disable-next-line @nx/enforce-module-boundaries -- 'webgpu' is an optional dependency (package.json optionalDependencies), loaded only when asked for
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(`the optional 'webgpu' package (Dawn) did not load: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no GPU adapter (no Vulkan, Metal or D3D12 device or driver)');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the tfjs webgpu backend failed to initialise on the adapter');
  const i = (adapter as { info?: Partial<AdapterInfo> }).info ?? {};
  return {
    vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '',
    isFallbackAdapter: Boolean(i.isFallbackAdapter),
  };
}
