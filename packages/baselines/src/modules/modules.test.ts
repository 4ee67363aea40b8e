import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@dampl/runtime';
import { gradientReverse, grlCoefficient } from './grl.js';
import { lbfgs } from './lbfgs.js';
import { mkmmd } from './mmd.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('gradient reversal', () => {
  it('is the identity forward and flips and scales the gradient backward', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const w = tf.tensor1d([0.5, 4, -1]);
    const f = (coeff: number) => (t: tf.Tensor) => tf.sum(tf.mul(gradientReverse(t, coeff), w));
    expect(Array.from(gradientReverse(x, 0.7).dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(tf.grad(f(1))(x).dataSync())).toEqual([-0.5, -4, 1]);
    const g = tf.grad(f(0.25))(x).dataSync();
    [-0.125, -1, 0.25].forEach((v, i) => expect(g[i]).toBeCloseTo(v, 6));
    // composed with a loss on both sides: only the reversed branch is flipped
    const both = tf.grad((t: tf.Tensor) => tf.add(tf.sum(t), tf.sum(gradientReverse(t, 2))))(x).dataSync();
    expect(Array.from(both)).toEqual([-1, -1, -1]);
  });

  it('follows the published warm-up schedule 2/(1+exp(-10p)) - 1, and TLlib\'s warm start', () => {
    expect(grlCoefficient(0, 100)).toBe(0);
    expect(grlCoefficient(50, 100)).toBeCloseTo(2 / (1 + Math.exp(-5)) - 1, 12);
    expect(grlCoefficient(100, 100)).toBeCloseTo(0.9999092, 6);
    // TLlib WarmStartGradientReverseLayer(alpha=1, lo=0, hi=1, max_iters=1000): not capped at max_iters
    expect(grlCoefficient(1000, 1000, { alpha: 1 })).toBeCloseTo(2 / (1 + Math.exp(-1)) - 1, 12);
    expect(grlCoefficient(5000, 1000, { alpha: 1 })).toBeCloseTo(2 / (1 + Math.exp(-5)) - 1, 12);
  });
});

describe('MK-MMD', () => {
  const sample = (rng: Rng, n: number, d: number, shift = 0) => tf.tensor2d(rng.normalArray(n * d).map((v) => v + shift), [n, d]);

  it('is near zero between two samples of one distribution and grows with a mean shift', () => {
    const rng = new Rng(11);
    const values = (linear: boolean) => [0, 0.5, 1, 2].map((shift) => tf.tidy(() => mkmmd(sample(rng, 256, 8), sample(rng, 256, 8, shift), { linear }).dataSync()[0]!));
    for (const linear of [false, true]) {
      const v = values(linear);
      expect(Math.abs(v[0]!)).toBeLessThan(linear ? 0.15 : 0.01);
      expect(v[1]!).toBeGreaterThan(Math.abs(v[0]!));
      expect(v[2]!).toBeGreaterThan(v[1]!);
      expect(v[3]!).toBeGreaterThan(v[2]!);
    }
  });

  it('is 0, not NaN, when every feature in the batch is the same', () => {
    const x = tf.ones([8, 4]) as tf.Tensor2D;
    for (const linear of [true, false]) expect(mkmmd(x, x, { linear }).dataSync()[0]).toBe(0);
  });

  it('equals a hand computation with one kernel on a tiny example', () => {
    // s = {0, 1}, t = {3, 5} in 1-D; squared distances 1, 9, 25, 4, 16, 4 between distinct points,
    // each twice in the 4 x 4 matrix, whose 16 entries (zero diagonal included) TLlib's bandwidth averages
    const s = tf.tensor2d([[0], [1]]);
    const t = tf.tensor2d([[3], [5]]);
    const mean = (2 * (1 + 9 + 25 + 4 + 16 + 4)) / 16;
    const k = (d2: number) => Math.exp(-d2 / (2 * mean));
    const quadratic = (2 * k(1)) / 2 + (2 * k(4)) / 2 - (2 * (k(9) + k(25) + k(4) + k(16))) / 4;
    expect(mkmmd(s, t, { exponents: [0], linear: false }).dataSync()[0]).toBeCloseTo(quadratic, 5);
    // linear: pairs (i=0,j=1) and (i=1,j=0): h = k(s0,s1)+k(t0,t1)-k(s0,t1)-k(s1,t0), twice, / 2
    const linear = k(1) + k(4) - k(25) - k(4);
    expect(mkmmd(s, t, { exponents: [0], linear: true }).dataSync()[0]).toBeCloseTo(linear, 5);
    // TLlib's constant 2/(B-1) on request
    expect(mkmmd(s, t, { exponents: [0], linear: true, tllibConstant: true }).dataSync()[0]).toBeCloseTo(linear + 2, 5);
  });

  /**
   * TLlib's numbers: MultipleKernelMaximumMeanDiscrepancy(kernels=[GaussianKernel(alpha=2 ** k)
   * for k in range(-3, 2)], linear) of thuml/Transfer-Learning-Library (tllib/alignment/dan.py,
   * tllib/modules/kernels.py), evaluated in float32 with torch 1.13 on the inputs below:
   *   d2 = ((X[None] - X[:, None]) ** 2).sum(2),  sigma2 = alpha * d2.mean(),  K = sum exp(-d2 / (2 sigma2))
   *   loss = (K * index_matrix).sum() + 2 / (B - 1)
   * with _update_index_matrix's linear or quadratic weights; the gradient is d loss / d s[0, 0:3].
   */
  const fixed = (B: number, D: number) => ({
    s: tf.tensor2d(Array.from({ length: B * D }, (_, n) => Math.sin(0.7 * Math.floor(n / D) + 1.3 * (n % D)) + 0.1 * (n % D)), [B, D]),
    t: tf.tensor2d(Array.from({ length: B * D }, (_, n) => Math.cos(0.5 * Math.floor(n / D) - 0.9 * (n % D)) + 0.3), [B, D]),
  });
  const TLLIB = [
    { B: 6, D: 5, linear: 3.215888500213623, quadratic: 1.6013147830963135, grad: [-0.08871960639953613, -0.06760772317647934, -0.2056645005941391] },
    { B: 32, D: 16, linear: 4.603850364685059, quadratic: 1.728621244430542, grad: [0.007972709834575653, -0.002121007302775979, -0.012585234828293324] },
  ];
  const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

  it("matches TLlib's MK-MMD on fixed inputs within 1e-4 relative, with and without its constant 2/(B-1)", () => {
    for (const r of TLLIB) {
      const { s, t } = fixed(r.B, r.D);
      for (const linear of [true, false]) {
        const want = linear ? r.linear : r.quadratic;
        expect(rel(mkmmd(s, t, { linear, tllibConstant: true }).dataSync()[0]!, want)).toBeLessThan(1e-4);
        expect(rel(mkmmd(s, t, { linear }).dataSync()[0]!, want - 2 / (r.B - 1))).toBeLessThan(1e-4);
      }
      const g = tf.grad((x: tf.Tensor) => mkmmd(x as tf.Tensor2D, t))(s).dataSync();
      r.grad.forEach((v, i) => expect(Math.abs(g[i]! - v)).toBeLessThan(1e-4 * Math.max(...r.grad.map(Math.abs))));
    }
  });
});

describe('L-BFGS', () => {
  it('minimises the Rosenbrock function and a convex quadratic', async () => {
    const rosen = (x: Float64Array) => {
      const [a, b] = [x[0]!, x[1]!];
      return { value: (1 - a) ** 2 + 100 * (b - a * a) ** 2, grad: Float64Array.of(-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)) };
    };
    const r = await lbfgs(rosen, Float64Array.of(-1.2, 1), { gtol: 1e-8, maxIter: 500 });
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(r.x[1]).toBeCloseTo(1, 5);
    // 0.5 x^T A x - b^T x with A = diag(1..20): x* = b / diag
    const n = 20;
    const q = await lbfgs((x) => {
      let value = 0;
      const grad = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        value += 0.5 * (i + 1) * x[i]! ** 2 - x[i]!;
        grad[i] = (i + 1) * x[i]! - 1;
      }
      return { value, grad };
    }, new Float64Array(n), { gtol: 1e-9 });
    expect(['gtol', 'ftol']).toContain(q.reason);
    for (let i = 0; i < n; i++) expect(q.x[i]).toBeCloseTo(1 / (i + 1), 6);
  });
});
