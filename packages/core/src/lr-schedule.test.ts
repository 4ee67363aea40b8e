/**
 * The learning rates of `dapl@released` beside PyTorch's CosineAnnealingLR wrapped in Dassl's
 * warm-up, stepped after every batch as DAPL's trainer (LeapLabTHU/DAPrompt trainers/dapl.py)
 * steps it. The reference is written out below from the two sources' formulas:
 *
 * torch.optim.lr_scheduler.CosineAnnealingLR.get_lr (torch 1.13), the recursive ("chainable")
 * form that step() uses, with e = last_epoch, lr = the optimizer's current rate, eta_min = 0:
 *   e == 0:                               lr
 *   (e - 1 - T_max) % (2 T_max) == 0:     lr + (base - eta_min) (1 - cos(pi / T_max)) / 2
 *   otherwise:                            (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max)) (lr - eta_min) + eta_min
 * (its closed form, _get_closed_form_lr, eta_min + (base - eta_min)(1 + cos(pi e / T_max)) / 2, is
 * used only for step(epoch); the two agree in exact arithmetic, also past T_max, where both rise
 * again with period 2 T_max. Checked once against torch 1.13 itself: over 200 steps the recursion
 * differs from the closed form by at most 1.4e-14 relative, rounding only; the rates torch printed
 * are pinned below.)
 *
 * Dassl dassl/optim/lr_scheduler.py, with WARMUP_RECOUNT True (the successor starts at e = 0):
 *   LinearWarmupScheduler.get_lr: w == 0: min_lr; w < W: base w / W; else the successor's last rate
 *   ConstantWarmupScheduler.get_lr: w < W: cons_lr; else the successor's last rate
 *   _BaseWarmupScheduler.step: w >= W: successor.step() (w stays); else w += 1, rate = get_lr()
 */
import '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, selectBackend } from '@dampl/runtime';
import { damplSchema } from './dampl-config.js';
import { learningRate } from './optim.js';
import { releasedConfigs } from './released-configs.js';
import { train, type TrainerConfig } from './trainer.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const named = (name: string) => {
  const c = releasedConfigs().find((n) => n.name === name)!;
  return resolveConfig(damplSchema, [{ source: `named config ${c.method}@${c.name}`, values: c.values }]);
};

/** Rates of torch's CosineAnnealingLR(T_max) in Dassl's warm-up wrapper: the rate of each batch, stepped after it. */
function torchDasslRates(c: { lr: number; epochs: number; warmupEpochs: number; warmupType: 'linear' | 'constant'; warmupLr: number }, n: number): number[] {
  const base = c.lr;
  const T = c.epochs;
  const W = c.warmupEpochs;
  let groupLr = base;
  // CosineAnnealingLR's constructor steps once: e = 0, rate = the current lr (base)
  let e = 0;
  let successorLast = groupLr;
  const successorStep = () => {
    e += 1;
    if ((e - 1 - T) % (2 * T) === 0) groupLr = groupLr + (base * (1 - Math.cos(Math.PI / T))) / 2;
    else groupLr = ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * groupLr;
    successorLast = groupLr;
  };
  const warmupLr = (w: number) => (w >= W ? successorLast : c.warmupType === 'constant' || w === 0 ? c.warmupLr : (base * w) / W);
  // the wrapper's constructor steps once: w = 0
  let w = 0;
  groupLr = warmupLr(w);
  const out: number[] = [];
  for (let t = 0; t < n; t++) {
    out.push(groupLr);
    if (w >= W) successorStep();
    else {
      w += 1;
      groupLr = warmupLr(w);
    }
  }
  return out;
}

const close = (got: number, want: number) => Math.abs(got - want) <= 1e-12 * Math.abs(want) + 1e-18;

describe("dapl@released's learning rate", () => {
  it('steps per batch, and its first 200 rates are those of torch CosineAnnealingLR(T_max 25) in Dassl\'s linear warm-up', () => {
    const cfg = named('released');
    expect(cfg.lrStepPer).toBe('batch');
    const want = torchDasslRates(cfg, 200);
    const got = Array.from({ length: 200 }, (_, t) => learningRate(cfg, t));
    const bad = got.map((g, t) => [t, g, want[t]!] as const).filter(([, g, v]) => !close(g, v));
    expect(bad).toEqual([]);
    // printed by torch 1.13 (the wrapper re-implemented, torch's scheduler itself), rate of batch t
    const printed: [number, number][] = [[0, 1e-5], [1, 0.003], [2, 0.002988172051971717], [25, 1.1827948028283352e-5], [26, 0],
      [27, 1.1827948028283186e-5], [51, 0.0029999999999999996], [100, 0.0029881720519717592], [199, 0.0029528747416929886]];
    for (const [t, v] of printed) expect(close(got[t]!, v)).toBe(true);
    // the one warm-up epoch lasts one batch; the cosine repeats every 2 T_max = 50 batches
    expect(got[0]).toBe(1e-5);
    expect(got[51]!).toBeCloseTo(got[1]!, 15);
  });

  it("is what DAMPL's trainer uses for every batch, read from its step records", async () => {
    const cfg = named('released');
    const p = tf.variable(tf.zeros([2]), true, 'p');
    const rates: number[] = [];
    const trainerCfg: TrainerConfig = { ...cfg, maxSteps: 0 };
    await train({
      params: new Map([['p', p]]),
      loss: () => { const total = tf.sum(p) as tf.Scalar; return { total, terms: { l: tf.clone(total) as tf.Scalar } }; },
      state: async () => ({ method: 'test', config: {}, tensors: {}, meta: {} }),
    }, { config: trainerCfg, methodConfig: cfg, nSource: 8 * 32, nTarget: 8 * 32, seed: 1, onStep: (r) => rates.push(r.lr) });
    p.dispose();
    expect(rates).toHaveLength(25 * 8);
    const want = torchDasslRates(cfg, 200);
    expect(rates.filter((r, t) => !close(r, want[t]!))).toEqual([]);
  });

  it("dapl@pda-vitb16 steps per epoch through PDA's constant warm-up: 1e-5, then the cosine over 10 epochs", () => {
    const cfg = named('pda-vitb16');
    expect(cfg.lrStepPer).toBe('epoch');
    const want = torchDasslRates(cfg, 10);
    for (let t = 0; t < 10; t++) expect(close(learningRate(cfg, t), want[t]!)).toBe(true);
    expect(want[0]).toBe(1e-5);
  });
});
