/**
 * Classification metrics from predicted and true class indices. Pure functions; accuracies are
 * fractions in [0, 1] (tables multiply by 100).
 *
 *   accuracy            = #(pred == label) / N
 *   per-class accuracy  = #(pred == label == k) / #(label == k)          for each class k
 *   mean-class accuracy = mean of the per-class accuracies over the classes present in `labels`
 *
 * A class absent from the labels has no accuracy (NaN in the per-class table) and is left out
 * of the mean; the report says which classes were left out.
 */
import { DamplError } from '@dampl/runtime';
import type { MetricName } from './types.js';

export type ClassIndices = Int32Array | Uint8Array | Uint16Array | Uint32Array | readonly number[];

export interface ClassAccuracy {
  label: number;
  /** Images whose true class is `label`. */
  total: number;
  correct: number;
  /** correct / total; NaN when total is 0. */
  accuracy: number;
}

export interface EvaluationReport {
  metric: MetricName;
  /** The number reported for the dataset: `accuracy` or `meanClassAccuracy` as `metric` says. */
  value: number;
  accuracy: number;
  meanClassAccuracy: number;
  n: number;
  numClasses: number;
  perClass: ClassAccuracy[];
  /** Classes with no image in the labels, left out of the mean-class accuracy. */
  absentClasses: number[];
  /** confusion[trueClass][predictedClass] */
  confusion: number[][];
  /** Says how the mean was taken when classes were left out; empty otherwise. */
  note: string;
}

function check(preds: ClassIndices, labels: ClassIndices, numClasses?: number): void {
  if (preds.length !== labels.length) {
    throw new DamplError(`${preds.length} predictions for ${labels.length} labels`, 'predict exactly one class per evaluated image');
  }
  if (preds.length === 0) throw new DamplError('no predictions to evaluate', 'the evaluation set is empty: check the dataset root and the task');
  if (numClasses === undefined) return;
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new DamplError(`numClasses must be a positive integer, got ${numClasses}`);
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i]!;
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) throw new DamplError(`label ${l} at position ${i} is outside 0..${numClasses - 1}`);
    if (!Number.isInteger(p) || p < 0 || p >= numClasses) throw new DamplError(`prediction ${p} at position ${i} is outside 0..${numClasses - 1}`);
  }
}

/** Fraction of predictions equal to their label. */
export function accuracy(preds: ClassIndices, labels: ClassIndices): number {
  check(preds, labels);
  let ok = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) ok++;
  return ok / preds.length;
}

/** Confusion matrix, rows the true class, columns the predicted class. */
export function confusionMatrix(preds: ClassIndices, labels: ClassIndices, numClasses: number): number[][] {
  check(preds, labels, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < preds.length; i++) m[labels[i]!]![preds[i]!]!++;
  return m;
}

/** Accuracy of each class over the images of that class. */
export function perClassAccuracy(preds: ClassIndices, labels: ClassIndices, numClasses: number): ClassAccuracy[] {
  return perClassFromConfusion(confusionMatrix(preds, labels, numClasses));
}

function perClassFromConfusion(confusion: number[][]): ClassAccuracy[] {
  return confusion.map((row, label) => {
    const total = row.reduce((a, b) => a + b, 0);
    const correct = row[label]!;
    return { label, total, correct, accuracy: total ? correct / total : NaN };
  });
}

/** Mean of the per-class accuracies over the classes present in `labels`; `excluded` lists the others. */
export function meanClassAccuracy(preds: ClassIndices, labels: ClassIndices, numClasses: number): { value: number; excluded: number[] } {
  return meanOf(perClassAccuracy(preds, labels, numClasses));
}

function meanOf(perClass: ClassAccuracy[]): { value: number; excluded: number[] } {
  const present = perClass.filter((c) => c.total > 0);
  return {
    value: present.reduce((a, c) => a + c.accuracy, 0) / present.length,
    excluded: perClass.filter((c) => c.total === 0).map((c) => c.label),
  };
}

/** Every metric at once, with the dataset's reported number as `value`. */
export function evaluate(
  preds: ClassIndices,
  labels: ClassIndices,
  numClasses: number,
  metric: MetricName = 'accuracy',
  classNames?: readonly string[],
): EvaluationReport {
  const confusion = confusionMatrix(preds, labels, numClasses);
  const perClass = perClassFromConfusion(confusion);
  const mean = meanOf(perClass);
  let correct = 0;
  for (let k = 0; k < numClasses; k++) correct += confusion[k]![k]!;
  const acc = correct / preds.length;
  const name = (k: number): string => classNames?.[k] ?? String(k);
  const note = mean.excluded.length
    ? `mean-class accuracy over the ${numClasses - mean.excluded.length} of ${numClasses} classes present in the labels; left out: ${mean.excluded.map(name).join(', ')}`
    : '';
  return {
    metric,
    value: metric === 'mean-class' ? mean.value : acc,
    accuracy: acc,
    meanClassAccuracy: mean.value,
    n: preds.length,
    numClasses,
    perClass,
    absentClasses: mean.excluded,
    confusion,
    note,
  };
}

const pct = (x: number): string => (Number.isNaN(x) ? '-' : (100 * x).toFixed(1));

/** A per-class table in Markdown: class, images, correct, accuracy (%), then the summary rows. */
export function formatPerClassTable(r: EvaluationReport, classNames?: readonly string[]): string {
  const rows = r.perClass.map((c) => `| ${classNames?.[c.label] ?? c.label} | ${c.total} | ${c.correct} | ${pct(c.accuracy)} |`);
  return [
    '| class | images | correct | accuracy (%) |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    `| **mean over classes** | ${r.n} | | ${pct(r.meanClassAccuracy)} |`,
    `| **overall** | ${r.n} | ${Math.round(r.accuracy * r.n)} | ${pct(r.accuracy)} |`,
    ...(r.note ? ['', r.note] : []),
  ].join('\n');
}
