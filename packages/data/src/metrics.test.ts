import { describe, expect, it } from 'vitest';
import { DamplError } from '@dampl/runtime';
import { accuracy, confusionMatrix, evaluate, formatPerClassTable, meanClassAccuracy, perClassAccuracy } from './metrics.js';

// Worked by hand:
//   i      0  1  2  3  4  5  6
//   label  0  1  2  2  2  0  0
//   pred   0  1  1  2  2  2  0
//   right  y  y  n  y  y  n  y    -> accuracy 5/7
// class 0: i=0,5,6, right at 0 and 6 -> 2/3; class 1: i=1 -> 1/1; class 2: i=2,3,4 -> 2/3;
// class 3: no image -> left out; mean-class = (2/3 + 1 + 2/3) / 3 = 7/9.
const labels = [0, 1, 2, 2, 2, 0, 0];
const preds = new Int32Array([0, 1, 1, 2, 2, 2, 0]);

describe('metrics', () => {
  it('overall accuracy', () => {
    expect(accuracy(preds, labels)).toBeCloseTo(5 / 7, 12);
  });

  it('confusion matrix, rows true and columns predicted', () => {
    expect(confusionMatrix(preds, labels, 4)).toEqual([
      [2, 0, 1, 0],
      [0, 1, 0, 0],
      [0, 1, 2, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('per-class accuracy, NaN for a class without images', () => {
    const pc = perClassAccuracy(preds, labels, 4);
    expect(pc.map((c) => [c.total, c.correct])).toEqual([[3, 2], [1, 1], [3, 2], [0, 0]]);
    expect(pc[0]!.accuracy).toBeCloseTo(2 / 3, 12);
    expect(pc[3]!.accuracy).toBeNaN();
  });

  it('mean per-class accuracy leaves out absent classes and says which', () => {
    const m = meanClassAccuracy(preds, labels, 4);
    expect(m.value).toBeCloseTo(7 / 9, 12);
    expect(m.excluded).toEqual([3]);
    const r = evaluate(preds, labels, 4, 'mean-class', ['cat', 'dog', 'owl', 'yak']);
    expect(r.value).toBeCloseTo(7 / 9, 12);
    expect(r.accuracy).toBeCloseTo(5 / 7, 12);
    expect(r.absentClasses).toEqual([3]);
    expect(r.note).toBe('mean-class accuracy over the 3 of 4 classes present in the labels; left out: yak');
    expect(evaluate(preds, labels, 4).value).toBeCloseTo(5 / 7, 12);
  });

  it('differs from accuracy on imbalanced classes (the VisDA-2017 case)', () => {
    // 8 images of class 0 all right, 2 of class 1 both wrong: accuracy 0.8, mean-class 0.5.
    const l = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const p = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const r = evaluate(p, l, 2, 'mean-class');
    expect(r.accuracy).toBeCloseTo(0.8, 12);
    expect(r.value).toBeCloseTo(0.5, 12);
    expect(r.note).toBe('');
  });

  it('formats a per-class table', () => {
    const t = formatPerClassTable(evaluate(preds, labels, 4), ['cat', 'dog', 'owl', 'yak']);
    expect(t).toContain('| cat | 3 | 2 | 66.7 |');
    expect(t).toContain('| yak | 0 | 0 | - |');
    expect(t).toContain('| **mean over classes** | 7 | | 77.8 |');
    expect(t).toContain('| **overall** | 7 | 5 | 71.4 |');
  });

  it('refuses inputs that cannot be evaluated', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(DamplError);
    expect(() => accuracy([], [])).toThrow(/no predictions/);
    expect(() => confusionMatrix([0, 4], [0, 1], 4)).toThrow(/prediction 4 at position 1/);
    expect(() => confusionMatrix([0, 1], [0, -1], 4)).toThrow(/label -1 at position 1/);
  });
});
