/**
 * From the rehearsal's measurements to the cost of the full real grid. A method's training cost
 * is fitted as t = setup + perStep x steps from two runs capped at different step counts (the
 * per-step cost of a CLIP prompt method or a feature-space head does not depend on the dataset's
 * size: its batches are fixed); the full cell takes its full step count from the method's default
 * config on the dataset and the task's real sizes. Methods without a step cap (linear probe,
 * SHOT-IM) scale with the data they read; zero-shot costs the same at any size. Encoding costs
 * the measured seconds an image times every image of the dataset, once (the feature cache is
 * shared by every method, task and seed).
 */
import { ConfigError } from '@dampl/runtime';

/** How a method's run is capped in the rehearsal. */
export type CapKind = 'maxSteps' | 'iters' | 'scale' | 'fixed';

/** The cap each method takes; the names are the bench's registered methods. */
export const METHOD_CAPS: Readonly<Record<string, CapKind>> = {
  dampl: 'maxSteps', dapl: 'maxSteps', coop: 'maxSteps',
  'source-only': 'iters', dann: 'iters', dan: 'iters', cdan: 'iters', mcc: 'iters',
  'shot-im': 'scale', 'linear-probe': 'scale',
  'zero-shot': 'fixed', 'zero-shot-ensemble': 'fixed',
};

export function capKind(method: string): CapKind {
  const k = METHOD_CAPS[method];
  if (!k) throw new ConfigError(`the rehearsal has no step cap for method '${method}'`, `choose among ${Object.keys(METHOD_CAPS).join(', ')}`);
  return k;
}

/** The config values that cap a run at `steps` steps. */
export function capOverrides(method: string, steps: number): Record<string, unknown> {
  switch (capKind(method)) {
    case 'maxSteps': return { maxSteps: steps };
    case 'iters': return { epochs: 1, itersPerEpoch: steps };
    default: return {};
  }
}

export interface TaskSizes { source: number; target: number; test: number }

const perPass = (n: number, batch: number): number => Math.max(1, Math.ceil(n / batch));

/**
 * Optimizer steps of a full cell: from the method's resolved config (defaults and dataset preset)
 * and the task's sizes. 0 for methods without steps.
 */
export function fullSteps(method: string, config: Record<string, unknown>, s: TaskSizes): number {
  const num = (k: string): number => {
    const v = config[k];
    if (typeof v !== 'number') throw new ConfigError(`${method}'s config has no number '${k}' to count its steps`);
    return v;
  };
  switch (capKind(method)) {
    case 'maxSteps': {
      const bs = method === 'coop' ? num('batchSize') : num('batchSource');
      const bt = method === 'coop' ? bs : num('batchTarget');
      const src = perPass(s.source, bs);
      const tgt = perPass(s.target, bt);
      const count = method === 'coop' ? 'source' : String(config.countIter ?? 'source');
      const per = count === 'target' ? tgt : count === 'smaller' ? Math.min(src, tgt) : count === 'larger' ? Math.max(src, tgt) : src;
      const all = num('epochs') * per;
      const cap = typeof config.maxSteps === 'number' && config.maxSteps > 0 ? config.maxSteps : Infinity;
      return Math.min(all, cap);
    }
    case 'iters': return num('epochs') * num('itersPerEpoch');
    case 'scale':
      if (method === 'shot-im') return num('sourceEpochs') * perPass(s.source, num('batchSize')) + num('epochs') * perPass(s.target, num('batchSize'));
      return s.source;
    case 'fixed': return 0;
  }
}

/** Least-squares line through (steps, seconds) points; one point gives a line through 0. */
export function fitLine(points: readonly { steps: number; seconds: number }[]): { setup: number; perStep: number } {
  if (!points.length) throw new ConfigError('no measured runs to fit');
  const distinct = new Set(points.map((p) => p.steps));
  if (distinct.size < 2) {
    const p = points[0]!;
    return { setup: 0, perStep: p.steps ? p.seconds / p.steps : 0 };
  }
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.steps, 0) / n;
  const my = points.reduce((a, p) => a + p.seconds, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) { sxy += (p.steps - mx) * (p.seconds - my); sxx += (p.steps - mx) ** 2; }
  const perStep = Math.max(0, sxy / sxx);
  return { setup: Math.max(0, my - perStep * mx), perStep };
}

export interface MethodMeasure {
  method: string;
  kind: CapKind;
  /** Capped runs on the rehearsal's fraction: steps taken and fit seconds. */
  runs: { steps: number; seconds: number }[];
  /** Rehearsal task sizes, for the methods that scale with the data. */
  sizes: TaskSizes;
  /** Prediction seconds on the rehearsal's test set. */
  predictSeconds: number;
}

/** Seconds of one full cell of `method` on a task of sizes `full`. */
export function projectCell(m: MethodMeasure, config: Record<string, unknown>, full: TaskSizes): number {
  const predict = m.predictSeconds * (full.test / Math.max(1, m.sizes.test));
  if (m.kind === 'fixed') return (m.runs[0]?.seconds ?? 0) + predict;
  if (m.kind === 'scale') {
    const measured = m.runs[0]!;
    const ratio = fullSteps(m.method, config, full) / Math.max(1, fullSteps(m.method, config, m.sizes));
    return measured.seconds * ratio + predict;
  }
  const { setup, perStep } = fitLine(m.runs);
  return setup + perStep * fullSteps(m.method, config, full) + predict;
}
