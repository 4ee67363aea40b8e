/**
 * The `Method` contract, checked on the toy problem: a method (of this project or of a plug-in
 * package) fits, reports an epoch history through `onEpoch`, predicts valid probabilities whose
 * argmax is its labels, saves a state that `restore` turns back into the same predictions, and
 * leaves no tensor behind. Each broken rule throws an Error that says which; the report gives
 * the accuracy to compare with chance.
 *
 * @example
 *   const r = await checkMethod(myMethod, { tower, toy, overrides: { epochs: 2 } });
 *   expect(r.evalAccuracy).toBeGreaterThan(r.chance);
 */
import * as tf from '@tensorflow/tfjs-core';
import { fitMethod, resolveMethodConfig, type Method, type Prediction } from '../methods.js';
import type { TextTower } from '../types.js';
import type { ToyProblem } from './toy.js';

export interface CheckOptions {
  tower: TextTower;
  toy: ToyProblem;
  /** Values over the method's synth preset (small settings keep the check short). */
  overrides?: Readonly<Record<string, unknown>>;
  seed?: number;
}

export interface CheckReport {
  /** Accuracy on the toy problem's evaluation set, from the method's predictions. */
  evalAccuracy: number;
  /** 1 / K. */
  chance: number;
  epochs: number;
  /** Whether the method has restore (and it was checked). */
  restored: boolean;
}

function fail(method: string, what: string): never {
  throw new Error(`${method}: ${what}`);
}

function checkPrediction(name: string, p: Prediction, rows: number, K: number): void {
  if (p.probs.length !== rows * K) fail(name, `predict gave ${p.probs.length} probabilities for [${rows}, ${K}]`);
  if (p.labels.length !== rows) fail(name, `predict gave ${p.labels.length} labels for ${rows} rows`);
  for (let i = 0; i < rows; i++) {
    const row = p.probs.subarray(i * K, (i + 1) * K);
    let sum = 0;
    let best = 0;
    for (let k = 0; k < K; k++) {
      const v = row[k]!;
      if (!Number.isFinite(v) || v < 0 || v > 1) fail(name, `row ${i} has the probability ${v}`);
      sum += v;
      if (v > row[best]!) best = k;
    }
    if (Math.abs(sum - 1) > 1e-4) fail(name, `row ${i}'s probabilities sum to ${sum}`);
    if (p.labels[i] !== best) fail(name, `row ${i}'s label ${p.labels[i]} is not the argmax ${best} of its probabilities`);
  }
}

export async function checkMethod(method: Method<unknown>, o: CheckOptions): Promise<CheckReport> {
  const { toy, tower } = o;
  const name = method.name;
  const K = toy.classNames.length;
  const rows = toy.evalTarget.features.rows;
  const config = await resolveMethodConfig(method, { dataset: 'synth', overrides: o.overrides ?? {} });
  const before = tf.memory().numTensors;
  const epochs: number[] = [];
  const result = await fitMethod(method, {
    source: toy.source, sourceLabels: toy.sourceLabels, target: toy.target,
    targetLabelsForAnalysis: toy.targetLabels, evalTarget: toy.evalTarget,
    classNames: toy.classNames, domainNames: toy.domainNames, clip: tower,
    config, seed: o.seed ?? 3, onEpoch: (r) => epochs.push(r.epoch),
  });
  const pred = await result.predict(toy.evalTarget.features);
  checkPrediction(name, pred, rows, K);
  if (!result.history.length) fail(name, 'the history has no epoch');
  if (JSON.stringify(epochs) !== JSON.stringify(result.history.map((r) => r.epoch))) {
    fail(name, `onEpoch saw epochs ${JSON.stringify(epochs)}, the history has ${JSON.stringify(result.history.map((r) => r.epoch))}`);
  }
  let correct = 0;
  for (let i = 0; i < rows; i++) if (pred.labels[i] === toy.evalTarget.labels[i]) correct++;
  const state = await result.state();
  if (state.method !== name) fail(name, `its state says method '${state.method}'`);
  if (method.restore) {
    const restored = await method.restore(state, { classNames: toy.classNames, domainNames: toy.domainNames, clip: tower });
    const again = await restored.predict(toy.evalTarget.features);
    restored.dispose();
    for (let i = 0; i < rows; i++) if (again.labels[i] !== pred.labels[i]) fail(name, `the restored state predicts ${again.labels[i]} for row ${i}, the fitted method ${pred.labels[i]}`);
    for (let i = 0; i < pred.probs.length; i++) {
      if (Math.abs(again.probs[i]! - pred.probs[i]!) > 1e-5) fail(name, `the restored state's probability ${i} is ${again.probs[i]}, the fitted method's ${pred.probs[i]}`);
    }
  }
  result.dispose();
  const leaked = tf.memory().numTensors - before;
  if (leaked) fail(name, `${leaked} tensor(s) left after dispose`);
  return { evalAccuracy: correct / rows, chance: 1 / K, epochs: result.history.length, restored: !!method.restore };
}
