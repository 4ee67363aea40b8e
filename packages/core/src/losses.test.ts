import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@dampl/runtime';
import { cosineLogits, crossEntropy, entropy, imLoss, l2Normalize, maskedCrossEntropy, softmaxT } from './losses.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

// logits whose softmax rows are [1/2, 1/4, 1/4], [1/8, 3/4, 1/8], [1/3, 1/3, 1/3]
const logits = () => tf.tensor2d([[Math.log(2), 0, 0], [0, Math.log(6), 0], [0, 0, 0]]);

describe('losses on a 3x3 example worked by hand', () => {
  it('cross-entropy: mean of -log p(y)', () => {
    // labels [0, 2, 1]: -log(1/2), -log(1/8), -log(1/3); mean = ln(2 * 8 * 3) / 3 = ln(48) / 3
    const ce = value(tf.tidy(() => crossEntropy(logits(), new Int32Array([0, 2, 1]))));
    expect(ce).toBeCloseTo(Math.log(48) / 3, 5);
    expect(ce).toBeCloseTo(1.2904003, 5);
  });

  it('masked cross-entropy keeps confidence >= tau and averages over the kept rows', () => {
    // confidence [0.9, 0.4, 0.6], tau 0.5: rows 1 and 3 kept; (ln 2 + ln 3) / 2 = ln(6) / 2
    const conf = new Float32Array([0.9, 0.4, 0.6]);
    const l = value(tf.tidy(() => maskedCrossEntropy(logits(), new Int32Array([0, 2, 1]), conf, 0.5)));
    expect(l).toBeCloseTo(Math.log(6) / 2, 5);
    expect(l).toBeCloseTo(0.8958797, 5);
    // tau exactly at a confidence keeps it: 0.4 >= 0.4, all rows: ln(48) / 3
    expect(value(tf.tidy(() => maskedCrossEntropy(logits(), new Int32Array([0, 2, 1]), conf, 0.4)))).toBeCloseTo(1.2904003, 5);
  });

  it('masked cross-entropy is 0, not NaN, when nothing is kept, and so is its gradient', () => {
    const conf = new Float32Array([0.9, 0.4, 0.6]);
    const x = tf.variable(logits());
    const { value: v, grads } = tf.variableGrads(() => maskedCrossEntropy(x as tf.Tensor2D, new Int32Array([0, 2, 1]), conf, 0.95), [x]);
    expect(v.dataSync()[0]).toBe(0);
    const g = Object.values(grads)[0]!.dataSync();
    expect([...g].every((e) => e === 0)).toBe(true);
    tf.dispose([v, ...Object.values(grads), x]);
  });

  it('IM loss: mean_i H(p_i) - H(mean_i p_i) with eps 1e-5 inside the logs', () => {
    const p = tf.tensor2d([[0.5, 0.25, 0.25], [0.125, 0.75, 0.125], [1 / 3, 1 / 3, 1 / 3]]);
    const e = 1e-5;
    const H1 = -(0.5 * Math.log(0.5 + e) + 2 * 0.25 * Math.log(0.25 + e)); // 1.0396908
    const H2 = -(2 * 0.125 * Math.log(0.125 + e) + 0.75 * Math.log(0.75 + e)); // 0.7355919
    const H3 = -Math.log(1 / 3 + e); // 1.0985823
    const pbar = [23 / 72, 32 / 72, 17 / 72]; // column means
    const Hbar = -pbar.reduce((s, q) => s + q * Math.log(q + e), 0); // 1.0657397
    const rows = entropy(p).arraySync();
    expect(rows[0]).toBeCloseTo(H1, 5);
    expect(rows[1]).toBeCloseTo(H2, 5);
    expect(rows[2]).toBeCloseTo(H3, 5);
    const im = value(tf.tidy(() => imLoss(p)));
    expect(im).toBeCloseTo((H1 + H2 + H3) / 3 - Hbar, 5);
    expect(im).toBeCloseTo(-0.1077847, 5);
    p.dispose();
  });

  it('cosine logits are s * cos and the temperature divides them', () => {
    const x = tf.tensor2d([[3, 4], [1, 0]]);
    const w = tf.tensor2d([[1, 0], [0, 1]]);
    const l = tf.tidy(() => cosineLogits(l2Normalize(x), w, 10)).arraySync();
    expect(l[0]![0]).toBeCloseTo(6, 5);
    expect(l[0]![1]).toBeCloseTo(8, 5);
    expect(l[1]![0]).toBeCloseTo(10, 5);
    const p = tf.tidy(() => softmaxT(tf.tensor2d([[2, 0]]), 2)).arraySync();
    expect(p[0]![0]).toBeCloseTo(Math.E / (Math.E + 1), 5);
    tf.dispose([x, w]);
  });
});
