import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@dampl/runtime';
import { dampl, getMethod, listMethods, makeTargetAnalysis, methodDefaults, registerMethod, resolveMethodConfig, type Method } from './index.js';

void tf;

describe('method registry and config resolution', () => {
  it("registers 'dampl' and reports unknown names with the registered ones", () => {
    expect(getMethod('dampl')).toBe(dampl);
    expect(listMethods().map((m) => m.name)).toContain('dampl');
    expect(() => getMethod('damlp')).toThrow(ConfigError);
    expect(() => getMethod('damlp')).toThrow(/did you mean 'dampl'\?.*registered methods: .*dampl/s);
  });

  it('takes feature-space methods that ignore prompts', async () => {
    const schema = { scale: { type: 'number', default: 1, doc: 'scale', source: 'test' } } as const;
    const identity: Method<{ scale: number }> = {
      name: 'identity-test',
      describe: 'predicts class 0',
      configSchema: schema,
      async fit(input) {
        const K = input.classNames.length;
        return {
          predict: async (f) => ({ probs: new Float32Array(f.rows * K).map((_, i) => (i % K === 0 ? 1 : 0)), labels: new Int32Array(f.rows) }),
          history: [],
          state: async () => ({ method: 'identity-test', config: input.config, tensors: {}, meta: {} }),
          dispose: () => {},
        };
      },
    };
    registerMethod(identity);
    expect(() => registerMethod({ ...identity })).toThrow(/already registered/);
    const m = getMethod<{ scale: number }>('identity-test');
    const r = await m.fit({
      source: { data: new Float32Array(4), rows: 2, dim: 2 }, sourceLabels: new Int32Array(2),
      target: { data: new Float32Array(4), rows: 2, dim: 2 }, classNames: ['a', 'b'], domainNames: ['x', 'y'],
      config: methodDefaults(m, 'any'), seed: 0,
    });
    expect([...(await r.predict({ data: new Float32Array(2), rows: 1, dim: 2 })).probs]).toEqual([1, 0]);
  });

  it('resolves in the order method < dataset < named < file < key=value', async () => {
    const base = await resolveMethodConfig(dampl, { dataset: 'visda-2017' });
    expect(base.lr).toBe(3e-3);
    expect(base.epochs).toBe(25);
    const synth = await resolveMethodConfig(dampl, { dataset: 'synth' });
    expect(synth.optimizer).toBe('adam');
    const named = await resolveMethodConfig(dampl, { dataset: 'synth', named: 'base' });
    expect([named.correction, named.beta, named.optimizer]).toEqual(['none', 0, 'adam']);
    const dir = await mkdtemp(path.join(tmpdir(), 'dampl-methods-'));
    const file = path.join(dir, 'run.json');
    await writeFile(file, JSON.stringify({ beta: 0.5, epochs: 3 }));
    const all = await resolveMethodConfig(dampl, { dataset: 'synth', named: 'base', file, overrides: ['epochs=4'] });
    expect([all.correction, all.beta, all.epochs]).toEqual(['none', 0.5, 4]);
    await expect(resolveMethodConfig(dampl, { dataset: 'synth', overrides: ['tua=0.6'] })).rejects.toThrow(/unknown config key 'tua'.*did you mean 'tau'\?/s);
    await expect(resolveMethodConfig(dampl, { dataset: 'synth', named: 'ful' })).rejects.toThrow(/did you mean 'full'\?/);
  });

  it('target analysis scores predictions and exposes no labels', () => {
    const a = makeTargetAnalysis(new Int32Array([0, 1, 2, 2]));
    expect(a.accuracy(new Int32Array([0, 1, 1, 2]))).toBe(0.75);
    expect(a.accuracy(new Int32Array([0, 1, 1, 2]), new Uint8Array([0, 0, 1, 1]))).toBe(0.5);
    expect(a.accuracy(new Int32Array(4), new Uint8Array(4))).toBeNaN();
    expect(Object.keys(a)).toEqual(['accuracy']);
    expect(JSON.stringify(a)).toBe('{}');
  });
});

describe("dampl@ep25-32-csc, DAPL's released recipe", () => {
  it('gives on the synthetic world the config the real benchmarks take by default', async () => {
    const released = await resolveMethodConfig(dampl, { dataset: 'synth', named: 'ep25-32-csc' });
    expect(released).toEqual(methodDefaults(dampl, 'office-home'));
    expect(released).not.toEqual(methodDefaults(dampl, 'synth'));
    expect(released).toMatchObject({ nCtx: 16, nDomainCtx: 16, csc: true, tau: 0.5, mu: 1, optimizer: 'sgd', lr: 3e-3, epochs: 25 });
  });
});
