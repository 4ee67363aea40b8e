/**
 * A toy adaptation problem around a text tower, for tests: image features are built in the
 * tower's joint space from its own zero-shot text features z_k ("a photo of a {class}."), so
 * that zero-shot CLIP is informative but imperfect on the target domain.
 *
 *   m = mean_k z_k,  d_k = (z_k - m) / r,  r = mean_k ||z_k - m||
 *   source:  x = m + a * d_k + noise_s
 *   target:  x = m + a * (d_k + mix * d_{(k+1) mod K}) + shift * b + noise_t
 *
 * (noise: N(0, sigma^2) per coordinate). Dividing by r makes `a` the class separation in units of
 * the typical text-feature spread, whatever tower is used.
 * b is a random unit vector: a domain shift common to all target samples; `mix` pulls target
 * class k towards the text of class k + 1. Zero-shot accuracy on the target falls as shift and
 * mix grow, while the target classes stay separate clusters that adaptation can find.
 */
import { Rng } from '@dampl/runtime';
import type { FeatureMatrix } from '../methods.js';
import { zeroShotTextFeatures } from '../prompt.js';
import type { TextTower } from '../types.js';

export interface ToyOptions {
  classNames?: string[];
  domainNames?: [string, string];
  perClassSource?: number;
  perClassTarget?: number;
  /** a: scale of the class directions relative to ||m|| (default 0.5). */
  scale?: number;
  noiseSource?: number;
  noiseTarget?: number;
  shift?: number;
  mix?: number;
  seed?: number;
}

export interface ToyProblem {
  classNames: string[];
  domainNames: [string, string];
  source: FeatureMatrix;
  sourceLabels: Int32Array;
  target: FeatureMatrix;
  targetLabels: Int32Array;
  /** A second target sample from the same distribution. */
  evalTarget: { features: FeatureMatrix; labels: Int32Array };
  /** Zero-shot accuracy on `target`. */
  zeroShotAccuracy: number;
}

export async function makeToyProblem(tower: TextTower, o: ToyOptions = {}): Promise<ToyProblem> {
  const classNames = o.classNames ?? ['apple', 'bicycle', 'castle', 'dolphin', 'envelope'];
  const domainNames = o.domainNames ?? ['photo', 'sketch'];
  const K = classNames.length;
  const E = tower.config.embedDim;
  const zt = zeroShotTextFeatures(tower, classNames, ['a photo of a {class}.']);
  const z = (await zt.data()) as Float32Array;
  zt.dispose();
  const m = new Float32Array(E);
  for (let k = 0; k < K; k++) for (let e = 0; e < E; e++) m[e]! += z[k * E + e]! / K;
  let r = 0;
  for (let k = 0; k < K; k++) r += Math.hypot(...Array.from({ length: E }, (_, e) => z[k * E + e]! - m[e]!)) / K;
  const d = (k: number, e: number) => (z[k * E + e]! - m[e]!) / r;
  const rng = new Rng(o.seed ?? 7);
  const b = rng.normalArray(E);
  const bn = Math.hypot(...b);
  for (let e = 0; e < E; e++) b[e]! /= bn;
  const a = o.scale ?? 0.5;
  const shift = o.shift ?? 0.2;
  const mix = o.mix ?? 0.5;

  const make = (perClass: number, target: boolean, noise: number, r: Rng) => {
    const data = new Float32Array(K * perClass * E);
    const labels = new Int32Array(K * perClass);
    for (let k = 0, row = 0; k < K; k++) {
      for (let i = 0; i < perClass; i++, row++) {
        labels[row] = k;
        for (let e = 0; e < E; e++) {
          let v = m[e]! + a * d(k, e) + noise * r.normal();
          if (target) v += a * mix * d((k + 1) % K, e) + shift * b[e]!;
          data[row * E + e] = v;
        }
      }
    }
    return { features: { data, rows: K * perClass, dim: E }, labels };
  };
  const src = make(o.perClassSource ?? 24, false, o.noiseSource ?? 0.05, rng.fork('source'));
  const tgt = make(o.perClassTarget ?? 24, true, o.noiseTarget ?? 0.05, rng.fork('target'));
  const ev = make(o.perClassTarget ?? 24, true, o.noiseTarget ?? 0.05, rng.fork('eval'));

  let correct = 0;
  for (let i = 0; i < tgt.features.rows; i++) {
    let best = -Infinity;
    let arg = -1;
    for (let k = 0; k < K; k++) {
      let dot = 0;
      for (let e = 0; e < E; e++) dot += tgt.features.data[i * E + e]! * z[k * E + e]!;
      if (dot > best) [best, arg] = [dot, k];
    }
    if (arg === tgt.labels[i]) correct++;
  }
  return {
    classNames, domainNames,
    source: src.features, sourceLabels: src.labels,
    target: tgt.features, targetLabels: tgt.labels,
    evalTarget: ev,
    zeroShotAccuracy: correct / tgt.features.rows,
  };
}
