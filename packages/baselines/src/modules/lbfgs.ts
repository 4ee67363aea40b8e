/**
 * L-BFGS for smooth unconstrained minimisation (Nocedal & Wright, Numerical Optimization, 2nd
 * ed., Algorithms 7.4 and 7.5), with a backtracking line search on the Armijo condition
 * (c1 = 1e-4). Stops when max_i |grad_i| <= gtol (scipy's L-BFGS-B `pgtol`, which scikit-learn's
 * LogisticRegression sets to its tol), after `maxIter` iterations, or when the objective stops
 * decreasing (relative change <= ftol).
 *
 * Vectors are Float64Array; `f` returns the value and the gradient at x, or a promise of them
 * (an objective evaluated on the compute device).
 *
 * @example
 *   const { x } = await lbfgs((x) => ({ value: (x[0]! - 3) ** 2, grad: Float64Array.of(2 * (x[0]! - 3)) }), new Float64Array(1));
 */
export interface LbfgsOptions {
  maxIter?: number;
  /** History size m (scipy's default 10). */
  memory?: number;
  gtol?: number;
  ftol?: number;
  /** Line-search halvings before giving up (scipy maxls = 20; scikit-learn passes 50). */
  maxLineSearch?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  evaluations: number;
  /** Why it stopped. */
  reason: 'gtol' | 'ftol' | 'maxIter' | 'lineSearch';
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

export type LbfgsObjective = (x: Float64Array) => { value: number; grad: Float64Array } | Promise<{ value: number; grad: Float64Array }>;

export async function lbfgs(f: LbfgsObjective, x0: Float64Array, o: LbfgsOptions = {}): Promise<LbfgsResult> {
  const { maxIter = 1000, memory = 10, gtol = 1e-5, ftol = 64 * Number.EPSILON, maxLineSearch = 50 } = o;
  const n = x0.length;
  let x: Float64Array = Float64Array.from(x0);
  let { value, grad }: { value: number; grad: Float64Array } = await f(x);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(memory);
  for (let iter = 0; iter < maxIter; iter++) {
    if (maxAbs(grad) <= gtol) return { x, value, iterations: iter, evaluations, reason: 'gtol' };
    // two-loop recursion: d = -H grad
    const q = Float64Array.from(grad);
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j]! * dot(S[j]!, q);
      for (let i = 0; i < n; i++) q[i]! -= alpha[j]! * Y[j]![i]!;
    }
    const gamma = S.length ? dot(S.at(-1)!, Y.at(-1)!) / dot(Y.at(-1)!, Y.at(-1)!) : 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
    for (let i = 0; i < n; i++) q[i]! *= gamma;
    for (let j = 0; j < S.length; j++) {
      const beta = rho[j]! * dot(Y[j]!, q);
      for (let i = 0; i < n; i++) q[i]! += S[j]![i]! * (alpha[j]! - beta);
    }
    const d = q.map((v) => -v);
    let slope = dot(grad, d);
    if (!(slope < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -grad[i]! / Math.max(1, Math.sqrt(dot(grad, grad)));
      slope = dot(grad, d);
    }
    let step = 1;
    let accepted: { x: Float64Array; value: number; grad: Float64Array } | undefined;
    for (let ls = 0; ls < maxLineSearch; ls++, step /= 2) {
      const xn = new Float64Array(n);
      for (let i = 0; i < n; i++) xn[i] = x[i]! + step * d[i]!;
      const r = await f(xn);
      evaluations++;
      if (Number.isFinite(r.value) && r.value <= value + 1e-4 * step * slope) {
        accepted = { x: xn, ...r };
        break;
      }
    }
    if (!accepted) return { x, value, iterations: iter, evaluations, reason: 'lineSearch' };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = accepted.x[i]! - x[i]!;
      y[i] = accepted.grad[i]! - grad[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(y, y) * dot(s, s))) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (S.length > memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    const previous = value;
    ({ x, value, grad } = accepted);
    if ((previous - value) / Math.max(Math.abs(previous), Math.abs(value), 1) <= ftol) {
      return { x, value, iterations: iter + 1, evaluations, reason: 'ftol' };
    }
  }
  return { x, value, iterations: maxIter, evaluations, reason: maxAbs(grad) <= gtol ? 'gtol' : 'maxIter' };
}
