import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { BackendUnavailableError } from './errors.js';
import { Rng } from './rng.js';

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
    // and both agree with a float64 reference
    let ref = 0;
    for (let k = 0; k < 53; k++) ref += a[k]! * b[k * 29]!;
    expect(Math.abs(w[0]! - ref)).toBeLessThan(1e-5);
  });

  it('auto picks a backend and says why faster ones were skipped', async () => {
    const r = await selectBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(r.name);
    const order = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
    expect(r.skipped.map((s) => s.name)).toEqual(order.slice(0, order.indexOf(r.name)));
    for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(5);
  });

  it('forcing a backend that is absent fails with a message naming it', async () => {
    const r = await selectBackend('auto');
    const absent = r.skipped[0]?.name;
    if (absent) {
      const err = await selectBackend(absent).catch((e) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.message).toContain(`backend '${absent}' is not available`);
    }
    const unknown = await selectBackend('tpu' as never).catch((e) => e);
    expect(unknown).toBeInstanceOf(BackendUnavailableError);
    expect(unknown.message).toMatch(/unknown backend 'tpu'[\s\S]*auto, tensorflow, webgpu, wasm, cpu/);
  });
});
