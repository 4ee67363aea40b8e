/**
 * Linear probe: multinomial logistic regression on frozen (L2-normalised) source features,
 * applied to the target (Radford et al., "Learning Transferable Visual Models From Natural
 * Language Supervision", ICML 2021, section 3.2 and appendix A.3).
 *
 *   p(k | x) = softmax_k(x W + b)                    x [N, E], W [E, K], b [K]
 *   J(W, b)  = (1/N) sum_i -log p(y_i | x_i) + ||W||^2 / (2 C N)
 *
 * J is scikit-learn's LogisticRegression objective (C sum_i CE_i + ||W||^2 / 2, divided by C N
 * as scikit-learn >= 1.2 scales it; the intercept is not penalised), minimised by L-BFGS
 * (modules/lbfgs.ts) over the full source set until max |grad| <= tol, or by mini-batch Adam
 * (`solver: 'adam'`, seeded batch order) on the same objective.
 *
 * C: the paper sweeps the L2 strength on a validation split (appendix A.3: a search over
 * 10^-6..10^6 refined to 8 steps per decade). With `search: 'validation'` (the default) a
 * stratified, seeded `valFraction` of the source is held out, C is chosen on it over
 * 10^searchMin..10^searchMax in whole decades and then in quarter decades around the best
 * (highest accuracy, then lowest cross-entropy), and the probe is refitted on all source features.
 * With `search: 'none'`, C is the config value, by default that of the linear-probe example in
 * openai/CLIP's README, LogisticRegression(C = 0.316, max_iter = 1000), with scikit-learn's tol 1e-4;
 * that example fits unnormalised features, and on L2-normalised ones the same C regularises far
 * more, hence the search. Target features are not used in training.
 *
 * @example
 *   const result = await fitMethod(linearProbe, { ...input, config: methodDefaults(linearProbe, 'office-home') });
 *   result.predict(targetFeatures).labels; // [Nt]
 */
import * as tf from '@tensorflow/tfjs-core';
import { takeFloat32, ConfigError, Rng } from '@dampl/runtime';
import {
  analyse, argmaxRows, checkFeatures, checkState, defineSchema, epochFeaturesFor, featureData, fromSafeTensors,
  l2normalizeRows, TrainingAborted, validateConfig, VIEWS_FIELD, type ConfigOf, type EpochRecord, type FeatureMatrix,
  type Method, type MethodInput, type MethodResult, type MethodState, type Prediction, type RestoreInput,
} from '@dampl/core';
import { lbfgs } from './modules/lbfgs.js';

export const linearProbeSchema = defineSchema({
  views: VIEWS_FIELD,
  C: { type: 'number', default: 0.316, min: 1e-12, doc: "inverse L2 strength, scikit-learn convention, used with search 'none'", source: 'openai/CLIP README linear-probe example: LogisticRegression(C=0.316)' },
  search: { type: 'enum', choices: ['validation', 'none'], default: 'validation', doc: 'choose C on a held-out part of the source, or use C as given', source: 'CLIP paper (Radford et al. 2021) appendix A.3: C swept on a validation split' },
  valFraction: { type: 'number', default: 0.2, min: 0.01, max: 0.9, doc: 'share of each source class held out to choose C', source: 'this project' },
  searchMin: { type: 'number', default: -3, doc: 'log10 of the smallest C tried', source: 'this project (CLIP sweeps 10^-6..10^6; C below 10^-3 underfits normalised features)' },
  searchMax: { type: 'number', default: 4, doc: 'log10 of the largest C tried', source: 'this project' },
  normalize: { type: 'boolean', default: true, doc: 'L2-normalise the CLIP features first', source: 'this project: CLIP features are compared by cosine' },
  solver: { type: 'enum', choices: ['lbfgs', 'adam'], default: 'lbfgs', doc: 'lbfgs: full batch, as scikit-learn; adam: seeded mini-batches', source: 'scikit-learn LogisticRegression solver lbfgs' },
  maxIter: { type: 'integer', default: 1000, min: 1, doc: 'L-BFGS iterations at most', source: 'openai/CLIP README: max_iter=1000' },
  tol: { type: 'number', default: 1e-4, min: 0, doc: 'L-BFGS stops when max |grad J| <= tol', source: 'scikit-learn LogisticRegression tol = 1e-4' },
  epochs: { type: 'integer', default: 100, min: 1, doc: 'adam only: passes over the source set', source: 'this project' },
  batchSize: { type: 'integer', default: 256, min: 1, doc: 'adam only: rows per step', source: 'this project' },
  lr: { type: 'number', default: 1e-3, min: 0, doc: 'adam only: learning rate (beta1 0.9, beta2 0.999, eps 1e-8)', source: 'torch.optim.Adam default' },
  chunk: { type: 'integer', default: 16384, min: 1, doc: 'rows per tensor chunk when evaluating J and predicting (does not change results)', source: 'this project' },
});

export type LinearProbeConfig = ConfigOf<typeof linearProbeSchema>;

/** softmax(x W + b) over chunks of rows. */
class LinearPredictor {
  constructor(readonly w: Float32Array, readonly b: Float32Array, readonly dim: number, readonly K: number, readonly normalize: boolean, readonly chunk: number) {}

  async predict(features: FeatureMatrix): Promise<Prediction> {
    checkFeatures(features, 'features to predict', this.dim);
    const x = this.normalize ? l2normalizeRows(features.data, this.dim) : features.data;
    const { K, dim } = this;
    const probs = new Float32Array(features.rows * K);
    const [w, b] = [tf.tensor2d(this.w, [dim, K]), tf.tensor1d(this.b)];
    try {
      for (let r0 = 0; r0 < features.rows; r0 += this.chunk) {
        const rows = Math.min(this.chunk, features.rows - r0);
        const p = tf.tidy(() => tf.softmax(tf.add(tf.matMul(tf.tensor2d(x.subarray(r0 * dim, (r0 + rows) * dim), [rows, dim]), w), b)));
        probs.set(await takeFloat32(p), r0 * K);
      }
    } finally {
      tf.dispose([w, b]);
    }
    return { probs, labels: argmaxRows(probs, K) };
  }
}

/** A probe's training set on the device: features X [N, E] and one-hot labels Y [N, K], uploaded once. */
class ProbeSet {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
  readonly n: number;

  constructor(x: Float32Array, labels: Int32Array, readonly dim: number, readonly K: number) {
    this.n = labels.length;
    this.x = tf.tensor2d(x, [this.n, dim]);
    this.y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), K).toFloat() as tf.Tensor2D);
  }

  dispose(): void {
    tf.dispose([this.x, this.y]);
  }
}

/**
 * J and its gradient over the given rows of `set` (all by default), theta = [W (E x K, row-major), b (K)]:
 *   dJ/dW = X^T (P - Y) / n + W / (C N),  dJ/db = sum_i (P - Y)_i / n.
 * Per chunk of rows, theta crosses to the device and [CE, dJ/dW, dJ/db] back in one read.
 */
function objective(set: ProbeSet, C: number, chunk: number) {
  const { n: N, dim, K } = set;
  return async (theta: Float64Array, rows?: readonly number[]): Promise<{ value: number; grad: Float64Array }> => {
    const n = rows ? rows.length : N;
    const grad = new Float64Array(theta.length);
    let ce = 0;
    const w = tf.tensor2d(Float32Array.from(theta.subarray(0, dim * K)), [dim, K]);
    const b = tf.tensor1d(Float32Array.from(theta.subarray(dim * K)));
    try {
      for (let r0 = 0; r0 < n; r0 += chunk) {
        const m = Math.min(chunk, n - r0);
        const terms = tf.tidy(() => {
          const idx = rows ? tf.tensor1d(rows.slice(r0, r0 + m) as number[], 'int32') : undefined;
          const xt = idx ? tf.gather(set.x, idx) : tf.slice(set.x, [r0, 0], [m, dim]);
          const onehot = idx ? tf.gather(set.y, idx) : tf.slice(set.y, [r0, 0], [m, K]);
          const logp = tf.logSoftmax(tf.add(tf.matMul(xt, w), b));
          const g = tf.sub(tf.exp(logp), onehot); // [m, K]
          return tf.concat([tf.reshape(tf.neg(tf.sum(tf.mul(onehot, logp))), [1]), tf.reshape(tf.matMul(tf.transpose(xt), g), [-1]), tf.sum(g, 0)]);
        });
        const v = await takeFloat32(terms);
        ce += v[0]!;
        for (let i = 0; i < dim * K + K; i++) grad[i]! += v[1 + i]!;
      }
    } finally {
      tf.dispose([w, b]);
    }
    let reg = 0;
    for (let i = 0; i < dim * K; i++) {
      reg += theta[i]! ** 2;
      grad[i] = grad[i]! / n + theta[i]! / (C * N);
    }
    for (let k = 0; k < K; k++) grad[dim * K + k] = grad[dim * K + k]! / n;
    return { value: ce / n + reg / (2 * C * N), grad };
  };
}

/**
 * Chooses C on a stratified held-out part of the source: whole decades over
 * [10^searchMin, 10^searchMax], then quarter decades around the best; each fit warm-starts from the
 * previous one. Returns C, the held-out accuracy and the weights fitted on the training part.
 */
async function searchC(
  x: Float32Array, y: Int32Array, dim: number, K: number, cfg: LinearProbeConfig, rng: Rng,
  fit: (J: ReturnType<typeof objective>, C: number, start: Float64Array) => Promise<{ x: Float64Array }>,
): Promise<{ C: number; accuracy: number; theta: Float64Array; tried: number; valRows: number }> {
  const byClass: number[][] = Array.from({ length: K }, () => []);
  y.forEach((k, i) => byClass[k]!.push(i));
  const train: number[] = [];
  const val: number[] = [];
  for (const rows of byClass) {
    const order = rng.permutation(rows.length).map((j) => rows[j]!);
    const nVal = rows.length >= 2 ? Math.max(1, Math.round(cfg.valFraction * rows.length)) : 0;
    val.push(...order.slice(0, nVal));
    train.push(...order.slice(nVal));
  }
  const pick = (rows: number[]) => {
    const xs = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => xs.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
    return { x: xs, y: Int32Array.from(rows, (r) => y[r]!) };
  };
  const tr = pick(train);
  const va = pick(val);
  const score = async (theta: Float64Array) => {
    const p = await new LinearPredictor(Float32Array.from(theta.subarray(0, dim * K)), Float32Array.from(theta.subarray(dim * K)), dim, K, false, cfg.chunk)
      .predict({ data: va.x, rows: va.y.length, dim });
    let ok = 0;
    let ce = 0;
    va.y.forEach((k, i) => {
      if (p.labels[i] === k) ok++;
      ce -= Math.log(Math.max(p.probs[i * K + k]!, 1e-12));
    });
    return { accuracy: ok / va.y.length, ce: ce / va.y.length };
  };
  const results = new Map<number, { accuracy: number; ce: number; theta: Float64Array }>();
  let theta: Float64Array = new Float64Array(dim * K + K);
  const trainSet = new ProbeSet(tr.x, tr.y, dim, K);
  const tryAll = async (logs: number[]) => {
    for (const l of logs.filter((v) => !results.has(v)).sort((a, b) => a - b)) {
      theta = (await fit(objective(trainSet, 10 ** l, cfg.chunk), 10 ** l, theta)).x;
      results.set(l, { ...(await score(theta)), theta });
    }
  };
  const best = () => [...results].sort(([la, a], [lb, b]) => b.accuracy - a.accuracy || a.ce - b.ce || la - lb)[0]!;
  const lo = Math.ceil(cfg.searchMin);
  const hi = Math.max(lo, Math.floor(cfg.searchMax));
  try {
    await tryAll(Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
    const l0 = best()[0];
    await tryAll([-0.75, -0.5, -0.25, 0.25, 0.5, 0.75].map((d) => l0 + d).filter((l) => l >= cfg.searchMin && l <= cfg.searchMax));
  } finally {
    trainSet.dispose();
  }
  const [l, r] = best();
  return { C: 10 ** l, accuracy: r.accuracy, theta: r.theta, tried: results.size, valRows: va.y.length };
}

function resultFrom(p: LinearPredictor, config: LinearProbeConfig, history: EpochRecord[], meta: Record<string, unknown>): MethodResult {
  return {
    predict: (f) => p.predict(f),
    history,
    state: async (): Promise<MethodState> => ({
      method: 'linear-probe',
      config,
      tensors: {
        weight: { dtype: 'F32', shape: [p.dim, p.K], data: p.w },
        bias: { dtype: 'F32', shape: [p.K], data: p.b },
      },
      meta: { ...meta, dim: p.dim, numClasses: p.K, history },
    }),
    dispose: () => {},
  };
}

/** Fits the probe on the source set `all` (features `x`, host copy for the validation split). */
async function fitProbe(input: MethodInput<LinearProbeConfig>, cfg: LinearProbeConfig, x: Float32Array, all: ProbeSet, labels: Int32Array): Promise<MethodResult> {
  const { dim, K } = all;
  const log = input.logger?.child('linear-probe');
  const J = objective(all, cfg.C, cfg.chunk);
  const theta0 = new Float64Array(dim * K + K);
  const history: EpochRecord[] = [];
  const record = async (epoch: number, step: number, lr: number, theta: Float64Array, value: number, extra?: Record<string, number>) => {
    const p = new LinearPredictor(Float32Array.from(theta.subarray(0, dim * K)), Float32Array.from(theta.subarray(dim * K)), dim, K, cfg.normalize, cfg.chunk);
    const r: EpochRecord = { epoch, step, lr, losses: { total: value }, ...(await analyse(input, (f) => p.predict(f))), ...(extra ? { extra } : {}) };
    history.push(r);
    input.onEpoch?.(r);
    return p;
  };
  let predictor: LinearPredictor;
  if (cfg.solver === 'lbfgs') {
    const fit = async (Jc: ReturnType<typeof objective>, C: number, start: Float64Array) => {
      const res = await lbfgs((t) => {
        if (input.signal?.aborted) throw new TrainingAborted('linear-probe stopped', 'it trains in one go; run it again');
        return Jc(t);
      }, start, { maxIter: cfg.maxIter, gtol: cfg.tol });
      log?.debug(`C = ${C.toPrecision(3)}: L-BFGS stopped (${res.reason}) after ${res.iterations} iterations, J = ${res.value.toPrecision(6)}`);
      return res;
    };
    let C = cfg.C;
    let start: Float64Array = theta0;
    const extra: Record<string, number> = {};
    if (cfg.search === 'validation') {
      const chosen = await searchC(x, labels, dim, K, cfg, new Rng(input.seed).fork('validation'), fit);
      C = chosen.C;
      start = chosen.theta;
      Object.assign(extra, { C, valAccuracy: chosen.accuracy, candidates: chosen.tried });
      log?.info(`C = ${C.toPrecision(3)} chosen on ${chosen.valRows} held-out source features (accuracy ${(100 * chosen.accuracy).toFixed(1)}%, ${chosen.tried} values tried)`);
    }
    const res = await fit(objective(all, C, cfg.chunk), C, start);
    log?.info(`L-BFGS stopped (${res.reason}) after ${res.iterations} iterations, ${res.evaluations} evaluations, J = ${res.value.toPrecision(6)}`);
    predictor = await record(1, res.iterations, 0, res.x, res.value, { ...extra, C, iterations: res.iterations, evaluations: res.evaluations, converged: res.reason === 'gtol' ? 1 : 0 });
  } else {
    const rng = new Rng(input.seed).fork('order');
    const theta = theta0;
    const m = new Float64Array(theta.length);
    const v = new Float64Array(theta.length);
    const N = all.n;
    let t = 0;
    let last: LinearPredictor | undefined;
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const order = rng.permutation(N);
      let sum = 0;
      let steps = 0;
      for (let r0 = 0; r0 < N; r0 += cfg.batchSize, steps++) {
        if (input.signal?.aborted) throw new TrainingAborted('linear-probe stopped', 'it trains in one go; run it again');
        const { value, grad } = await J(theta, order.slice(r0, r0 + cfg.batchSize));
        t++;
        for (let i = 0; i < theta.length; i++) {
          m[i] = 0.9 * m[i]! + 0.1 * grad[i]!;
          v[i] = 0.999 * v[i]! + 0.001 * grad[i]! ** 2;
          theta[i]! -= (cfg.lr * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
        }
        sum += value;
        input.onStep?.({ epoch, step: t, lr: cfg.lr, losses: { total: value } });
      }
      last = await record(epoch, t, cfg.lr, theta, sum / steps);
    }
    predictor = last!;
  }
  return resultFrom(predictor, cfg, history, { classNames: [...input.classNames], domainNames: [...input.domainNames], seed: input.seed });
}

export const linearProbe: Method<LinearProbeConfig> = {
  name: 'linear-probe',
  describe: 'Linear probe (CLIP): logistic regression on frozen source features, tested on the target',
  configSchema: linearProbeSchema,

  async fit(input: MethodInput<LinearProbeConfig>): Promise<MethodResult> {
    const cfg = validateConfig(linearProbeSchema, input.config as Record<string, unknown>, 'linear-probe config');
    if (input.resumeFrom) throw new ConfigError('linear-probe cannot resume from a checkpoint', 'it trains in one go; run it again without resumeFrom');
    const data = featureData(input);
    const { dim, numClasses: K } = data;
    const x = cfg.normalize ? l2normalizeRows(data.source, dim) : data.source;
    // with views, C is chosen on the clean features (a held-out image's views would leak into
    // training otherwise) and the final fit takes the views' rows beside the clean ones: the K
    // cached views, or one fresh augmentation (online)
    const views = epochFeaturesFor(input, cfg.views, 'linear-probe');
    const extra = !views ? [] : input.trainViews?.source.length ? [...input.trainViews.source] : [await views('source', 1)];
    const rows = [x, ...extra.map((m) => (cfg.normalize ? l2normalizeRows(m.data, dim) : m.data))];
    const stacked = new Float32Array(rows.length * x.length);
    const labels = new Int32Array(rows.length * data.sourceLabels.length);
    rows.forEach((r, i) => {
      stacked.set(r, i * x.length);
      labels.set(data.sourceLabels, i * data.sourceLabels.length);
    });
    const all = new ProbeSet(stacked, labels, dim, K);
    try {
      return await fitProbe(input, cfg, x, all, data.sourceLabels);
    } finally {
      all.dispose();
    }
  },

  async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
    const meta = checkState('linear-probe', state, input);
    const cfg = validateConfig(linearProbeSchema, state.config as Record<string, unknown>, 'saved linear-probe config');
    const t = fromSafeTensors(state.tensors);
    const w = t.get('weight');
    const b = t.get('bias');
    if (!w || !b || w.length !== meta.dim * meta.numClasses || b.length !== meta.numClasses) {
      throw new ConfigError('the saved linear-probe state lacks a weight [E, K] and a bias [K]');
    }
    return resultFrom(new LinearPredictor(w, b, meta.dim, meta.numClasses, cfg.normalize, cfg.chunk), cfg, meta.history,
      { classNames: [...input.classNames], domainNames: [...input.domainNames], seed: meta.seed });
  },
};
