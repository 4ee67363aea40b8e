import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { createOptimizer, learningRate, type OptimConfig } from './optim.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

// DAPL configs/trainers/DAPL/ep25-32-csc.yaml with Dassl's defaults
const dapl: OptimConfig = {
  optimizer: 'sgd', lr: 3e-3, momentum: 0.9, weightDecay: 5e-4, adamBeta1: 0.9, adamBeta2: 0.999, adamEps: 1e-8,
  lrSchedule: 'cosine', warmupEpochs: 1, warmupType: 'linear', warmupLr: 1e-5, lrStepPer: 'epoch', epochs: 25,
};

describe('learning-rate schedule', () => {
  it("follows Dassl's linear warm-up then cosine (WARMUP_RECOUNT)", () => {
    expect(learningRate(dapl, 0)).toBe(1e-5);
    expect(learningRate(dapl, 1)).toBeCloseTo(3e-3, 12);
    expect(learningRate(dapl, 2)).toBeCloseTo(3e-3 * (1 + Math.cos(Math.PI / 25)) / 2, 12);
    expect(learningRate(dapl, 24)).toBeCloseTo(3e-3 * (1 + Math.cos((23 * Math.PI) / 25)) / 2, 12);
    expect(learningRate({ ...dapl, warmupType: 'constant' }, 0)).toBe(1e-5);
    expect(learningRate({ ...dapl, warmupEpochs: 2 }, 1)).toBeCloseTo(1.5e-3, 12);
    expect(learningRate({ ...dapl, warmupEpochs: 0 }, 0)).toBeCloseTo(3e-3, 12);
    expect(learningRate({ ...dapl, lrSchedule: 'constant' }, 7)).toBe(3e-3);
  });

  it("advanced per batch, reproduces the rates printed in DAPL's released VisDA log", () => {
    // output/visda17/DAPL/ep25-32-csc/1.0_0.6_1.0_t0/seed_2/log.txt, 4762 batches per epoch:
    // "epoch [1/25][100/4762] ... lr 2.988172e-03", "epoch [2/25][100/4762] ... lr 1.781072e-03"
    expect(learningRate(dapl, 100)).toBeCloseTo(2.988172e-3, 9);
    expect(learningRate(dapl, 4762 + 100)).toBeCloseTo(1.781072e-3, 9);
  });
});

describe('optimizers', () => {
  // L = 0.5 p0 + 1.0 p1, so the gradient is c = [0.5, 1]
  const c = () => tf.tensor1d([0.5, 1]);
  const run = (cfg: OptimConfig, steps: number, init = [1, -2]) => {
    const p = tf.variable(tf.tensor1d(init));
    const params = new Map([['p', p]]);
    const opt = createOptimizer(cfg, params);
    for (let i = 0; i < steps; i++) {
      const g = c();
      opt.apply(params, new Map([['p', g]]), 0.1);
      g.dispose();
    }
    return { p, opt, params };
  };

  it('SGD with momentum and L2 weight decay matches torch.optim.SGD worked by hand', () => {
    const { p, opt } = run({ ...dapl, weightDecay: 0.01 }, 2);
    // step 1: g = c + 0.01 p = [0.51, 0.98]; buf = g; p = [0.949, -2.098]
    // step 2: g = [0.50949, 0.97902]; buf = 0.9 [0.51, 0.98] + g = [0.96849, 1.86102]; p = [0.852151, -2.284102]
    const v = p.dataSync();
    expect(v[0]).toBeCloseTo(0.852151, 6);
    expect(v[1]).toBeCloseTo(-2.284102, 6);
    expect(opt.steps).toBe(2);
    opt.dispose();
    p.dispose();
  });

  it('Adam matches torch.optim.Adam worked by hand', () => {
    const { p, opt } = run({ ...dapl, optimizer: 'adam', weightDecay: 0 }, 1, [1, 1]);
    // m = 0.1 g, v = 0.001 g^2; step = lr * (m / 0.1) / (sqrt(v) / sqrt(0.001) + eps) = 0.1 * sign(g)
    const v = p.dataSync();
    expect(v[0]).toBeCloseTo(0.9, 6);
    expect(v[1]).toBeCloseTo(0.9, 6);
    opt.dispose();
    p.dispose();
  });

  it('restores its slots exactly', async () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const a = run({ ...dapl, optimizer }, 3);
      const b = run({ ...dapl, optimizer }, 0, [...a.p.dataSync()]);
      b.opt.load(new Map([...(await a.opt.slots())].map(([k, t]) => [k, t.data as Float32Array])), a.opt.steps);
      for (const o of [a, b]) {
        const g = c();
        o.opt.apply(o.params, new Map([['p', g]]), 0.1);
        g.dispose();
      }
      expect(b.p.dataSync()).toEqual(a.p.dataSync());
      for (const o of [a, b]) {
        o.opt.dispose();
        o.p.dispose();
      }
    }
  });
});
