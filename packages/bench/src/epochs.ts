/**
 * The target test set scored after every epoch, kept in the run record as per-class correct
 * counts (`RunRecord.epochs`), from which the tables take the best epoch: the figure DAPL, PDA,
 * AD-CLIP and TLlib report (their trainers test on the target after each epoch and keep the
 * best), an oracle, since it selects on the test labels. The last epoch is the record's own
 * predictions.
 *
 *   accuracy_e   = sum_k correct_{e,k} / sum_k total_k
 *   mean-class_e = mean over classes with total_k > 0 of correct_{e,k} / total_k
 *   best         = max_e metric_e, the first such epoch on ties
 */
import type { MetricName } from '@dampl/data';

/** Per-class counts of `predicted[i] === labels[i]`, [K]. */
export function correctPerClass(predicted: Int32Array, labels: Int32Array, K: number): number[] {
  const out = new Array<number>(K).fill(0);
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) out[labels[i]!]!++;
  return out;
}

/** The dataset's metric (a fraction) from per-class correct counts and class totals. */
export function metricFromCounts(correct: readonly number[], totals: readonly number[], metric: MetricName): number {
  if (correct.length !== totals.length) throw new Error(`${correct.length} per-class counts for ${totals.length} classes`);
  if (metric === 'mean-class') {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < totals.length; k++) {
      if (totals[k]! > 0) {
        sum += correct[k]! / totals[k]!;
        n++;
      }
    }
    return n ? sum / n : NaN;
  }
  const all = totals.reduce((a, b) => a + b, 0);
  return all ? correct.reduce((a, b) => a + b, 0) / all : NaN;
}

export interface EpochScore {
  epoch: number;
  /** Correct test predictions per class after the epoch. */
  correct: number[];
}

/** The best epoch by the dataset's metric (first of ties), or undefined without scores. */
export function bestEpoch(epochs: readonly EpochScore[] | undefined, totals: readonly number[], metric: MetricName): { epoch: number; value: number } | undefined {
  let best: { epoch: number; value: number } | undefined;
  for (const e of epochs ?? []) {
    const value = metricFromCounts(e.correct, totals, metric);
    if (!Number.isNaN(value) && (!best || value > best.value)) best = { epoch: e.epoch, value };
  }
  return best;
}
