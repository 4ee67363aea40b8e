import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendFamily, explainTensorflowFailure, plannedBackend, probeBackends, selectBackend } from './backend.js';
import { BackendUnavailableError } from './errors.js';
import { Rng } from './rng.js';
import { softwareAdapter, summariseDawnMessages, type AdapterInfo, type WebgpuProbe } from './webgpu.js';

const LAVAPIPE: AdapterInfo = {
  vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true,
};
const H200: AdapterInfo = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', isFallbackAdapter: false };
const DAWN_LINES = [
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
];
const probeOf = (p: Partial<WebgpuProbe>) => () => ({ messages: [], ...p });
/** tfjs-node-gpu installed where CUDA 11 is missing; tfjs-node not installed. */
const noCuda = async (pkg: string) => {
  if (pkg.endsWith('-gpu')) throw Object.assign(new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' });
  throw Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('backends', () => {
  it('wasm and cpu give the same matmul within 1e-5', async () => {
    const rng = new Rng(3);
    const a = rng.normalArray(37 * 53);
    const b = rng.normalArray(53 * 29);
    const run = async (name: 'wasm' | 'cpu') => {
      const r = await selectBackend(name);
      expect(r.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      return tf.tidy(() => tf.matMul(tf.tensor2d(a, [37, 53]), tf.tensor2d(b, [53, 29]))).dataSync() as Float32Array;
    };
    const w = await run('wasm');
    const c = await run('cpu');
    let maxDiff = 0;
    for (let i = 0; i < w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w[i]! - c[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // and both agree, entry by entry, with the product computed here in float64
    expect(w).toHaveLength(37 * 29);
    for (let i = 0; i < 37; i++) {
      for (let j = 0; j < 29; j++) {
        let ref = 0;
        for (let k = 0; k < 53; k++) ref += a[i * 53 + k]! * b[k * 29 + j]!;
        expect(Math.abs(w[i * 29 + j]! - ref)).toBeLessThan(1e-4);
        expect(Math.abs(c[i * 29 + j]! - ref)).toBeLessThan(1e-4);
      }
    }
  });

  it('auto picks a backend and says why faster ones were skipped', async () => {
    const r = await selectBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(r.name);
    const order = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
    expect(r.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(r.name)));
    for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(5);
  });

  it('forcing a backend that is absent fails with a message naming it', async () => {
    const err = await selectBackend('tensorflow', { importPackage: noCuda }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toMatch(/backend 'tensorflow' is not available: .*libcudart\.so\.11\.0/);
    expect(err.message).toMatch(/-> install @tensorflow\/tfjs-node-gpu \(CUDA 11\.2 and cuDNN 8\.1\)/);
    const unknown = await selectBackend('tpu' as never).catch((e) => e);
    expect(unknown).toBeInstanceOf(BackendUnavailableError);
    expect(unknown.message).toMatch(/unknown backend 'tpu'[\s\S]*auto, tensorflow, webgpu, wasm, cpu/);
  });
});

describe('backend choice', () => {
  it('classes lavapipe, llvmpipe, SwiftShader and fallback adapters as software, and a GPU as hardware', () => {
    expect(softwareAdapter(LAVAPIPE)).toMatch(/software adapter lavapipe/);
    expect(softwareAdapter({ ...LAVAPIPE, isFallbackAdapter: false })).toMatch(/lavapipe/);
    expect(softwareAdapter({ ...H200, vendor: 'google', description: 'SwiftShader Device (Subzero)' })).toMatch(/SwiftShader/);
    expect(softwareAdapter({ ...H200, isFallbackAdapter: true })).toMatch(/fallback adapter/);
    expect(softwareAdapter(H200)).toBeUndefined();
  });

  it('auto passes a software adapter over, naming it, and --backend webgpu is what uses it', async () => {
    const r = await selectBackend('auto', { importPackage: noCuda, webgpuProbe: probeOf({ adapter: LAVAPIPE, messages: DAWN_LINES }) });
    expect(['wasm', 'cpu']).toContain(r.name);
    expect(r.family).toBe('wasm/cpu');
    const webgpu = r.skipped.find((s) => s.name === 'webgpu')!;
    expect(webgpu.reason).toMatch(/software adapter lavapipe.*--backend webgpu uses it anyway/);
    const none = await selectBackend('auto', { importPackage: noCuda, webgpuProbe: probeOf({ error: 'Dawn found no GPU adapter (no Vulkan, Metal or D3D12 device or driver)' }) });
    expect(none.skipped.find((s) => s.name === 'webgpu')!.reason).toMatch(/no GPU adapter/);
  });

  it('plans webgpu first on a hardware adapter and never on a software one', async () => {
    const soft = await probeBackends({ importPackage: noCuda, webgpuProbe: probeOf({ adapter: LAVAPIPE, messages: DAWN_LINES }) });
    const row = soft.find((b) => b.name === 'webgpu')!;
    expect(row.ok).toBe(true);
    expect(row.autoSkips).toMatch(/lavapipe/);
    expect(row.messages).toMatch(/^2 messages: maxDynamicUniformBuffersPerPipelineLayout/);
    expect(plannedBackend(soft, 'auto')!.name).toBe('wasm');
    expect(plannedBackend(soft, 'webgpu')!.name).toBe('webgpu');
    const hard = await probeBackends({ importPackage: noCuda, webgpuProbe: probeOf({ adapter: H200 }) });
    expect(plannedBackend(hard, 'auto')!.name).toBe('webgpu');
    expect(hard.find((b) => b.name === 'webgpu')!.messages).toBe('no messages');
  });

  it("says why tfjs-node-gpu's binding did not load and what it needs", async () => {
    const rows = await probeBackends({ importPackage: noCuda, webgpuProbe: probeOf({ error: 'none' }) });
    const tfRow = rows.find((b) => b.name === 'tensorflow')!;
    expect(tfRow.ok).toBe(false);
    expect(tfRow.detail).toMatch(/@tensorflow\/tfjs-node-gpu is installed but its binding did not load: libcudart\.so\.11\.0 is missing/);
    expect(tfRow.detail).toMatch(/CUDA 11\.2 and cuDNN 8\.1/);
    expect(tfRow.detail).toMatch(/@tensorflow\/tfjs-node is not installed/);
    const noBinding = Object.assign(new Error("Cannot find module '/x/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node'"), { code: 'MODULE_NOT_FOUND' });
    expect(explainTensorflowFailure('@tensorflow/tfjs-node-gpu', noBinding)).toMatch(/installed without its native binding/);
    expect(explainTensorflowFailure('@tensorflow/tfjs-node-gpu', new Error('libcudnn.so.8: cannot open shared object file'))).toMatch(/libcudnn\.so\.8 is missing/);
  });

  it("summarises Dawn's and the Vulkan loader's messages in one line", () => {
    expect(summariseDawnMessages([...DAWN_LINES, DAWN_LINES[0]!])).toBe(
      '2 messages: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.; '
      + 'maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.');
    expect(summariseDawnMessages([
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
      '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
    ])).toBe("1 message: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory");
    expect(summariseDawnMessages([])).toBe('no messages');
  });

  it('groups wasm and cpu into one family, apart from webgpu and tensorflow', () => {
    expect(backendFamily('wasm')).toBe(backendFamily('cpu'));
    expect(new Set(['tensorflow', 'webgpu', 'wasm'].map((n) => backendFamily(n as 'wasm'))).size).toBe(3);
  });
});
