/**
 * The `Method` contract every UDA method in this project implements (DAMPL here; zero-shot CLIP,
 * CoOp, DAPL, DANN, DAN in packages/baselines), and the registry that maps a name to a method.
 *
 * A method trains on frozen image features: labelled source features, unlabelled target
 * features, and (for prompt methods) the CLIP text tower. It returns a predictor for target
 * features, its per-epoch history and its state for checkpoints. Methods that work in feature
 * space only (DANN, DAN) ignore `clip`, `classNames` and `domainNames`.
 *
 * Target labels never reach a method: the caller gives `targetLabelsForAnalysis` and the
 * evaluation labels to `fitMethod`, which wraps them in `TargetAnalysis` objects whose only
 * operation is to score predictions. A method reports pseudo-label accuracy and target accuracy
 * in its history through them, and has nothing to compute a loss from.
 */
import type { OnlineViews, TrainViews } from './views.js';
import {
  ConfigError, DamplError, closest, loadConfigFile, parseConfigPairs, resolveConfig, resolveWithSources,
  type ConfigLayer, type ConfigSchema, type Logger, type SafeTensor,
} from '@dampl/runtime';
import { getNamedConfig } from './config.js';
import type { TextTower } from './types.js';
import type { FeatureMatrix } from './feature-matrix.js';

export type { FeatureMatrix } from './feature-matrix.js';

/** One epoch of training as recorded in a method's history. Pure function of config and seed. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps taken so far (all epochs). */
  step: number;
  /** Learning rate of the epoch's first step. */
  lr: number;
  /** Mean of each loss term over the epoch's steps, e.g. { src, tgt, im, total }. */
  losses: Record<string, number>;
  /** Fraction of target training samples whose pseudo-label was kept (confidence >= tau). */
  pseudoCoverage?: number;
  /** Analysis only: accuracy of the kept pseudo-labels. */
  pseudoAccuracy?: number;
  /** Analysis only: accuracy on the target training features after the epoch. */
  targetAccuracy?: number;
  /** Accuracy on the target evaluation set after the epoch (when one is given). */
  evalAccuracy?: number;
  /** Method-specific numbers (e.g. the curriculum weight lambda). */
  extra?: Record<string, number>;
}

/** Per-step information for progress displays and tests. */
export interface StepRecord {
  epoch: number;
  step: number;
  lr: number;
  losses: Record<string, number>;
}

/** Scores predictions on the target training set against labels the method cannot see. */
export interface TargetAnalysis {
  /** Accuracy of `predicted` [Nt]; with `keep`, over the kept entries only (NaN when none kept). */
  accuracy(predicted: Int32Array, keep?: Uint8Array): number;
}

/**
 * Wraps target labels so that only accuracies can be read from them. `onScored` sees every
 * prediction scored whole (no `keep`): the model's predictions after each epoch, in order, which
 * the bench keeps to report the best epoch.
 */
export function makeTargetAnalysis(labels: Int32Array, onScored?: (predicted: Int32Array) => void): TargetAnalysis {
  const hidden = Int32Array.from(labels);
  return Object.freeze({
    accuracy(predicted: Int32Array, keep?: Uint8Array): number {
      if (predicted.length !== hidden.length) {
        throw new DamplError(`target analysis: ${predicted.length} predictions for ${hidden.length} target samples`);
      }
      if (!keep) onScored?.(Int32Array.from(predicted));
      let n = 0;
      let correct = 0;
      for (let i = 0; i < hidden.length; i++) {
        if (keep && !keep[i]) continue;
        n++;
        if (predicted[i] === hidden[i]) correct++;
      }
      return n ? correct / n : NaN;
    },
  });
}

export interface MethodInput<C> {
  /** Labelled source features [Ns, E] (image features as the encoder gives them; methods normalise). */
  source: FeatureMatrix;
  sourceLabels: Int32Array;
  /** Unlabelled target training features [Nt, E]. */
  target: FeatureMatrix;
  /** Scores target predictions for the history; never part of any loss. */
  targetAnalysis?: TargetAnalysis;
  /**
   * With config `views` = K > 0: K cached augmented views of the source and target training
   * images (views.ts); each epoch trains on one view per image. Evaluation keeps the clean
   * `source`/`target`/`evalTarget` features.
   */
  trainViews?: TrainViews;
  /** With config `views` = 'online': each epoch's fresh augmentation of the training images, encoded by the caller (views.ts). */
  onlineViews?: OnlineViews;
  /** Target evaluation set, scored after each epoch (its labels are behind a TargetAnalysis too). */
  evalTarget?: { features: FeatureMatrix; analysis: TargetAnalysis };
  /** Class names as shown in prompts (underscores become spaces). */
  classNames: readonly string[];
  /** [source, target] domain words used in prompts, e.g. ['art', 'clipart']. */
  domainNames: readonly [string, string];
  /** The CLIP text side; required by prompt methods. */
  clip?: TextTower;
  config: C;
  seed: number;
  logger?: Logger;
  onEpoch?: (record: EpochRecord) => void;
  onStep?: (record: StepRecord) => void;
  /** Stops training between steps; the last checkpoint stays usable. */
  signal?: AbortSignal;
  /** Write a resumable checkpoint into `dir` every `every` epochs (default 1), keeping the last `keep` (default 1). */
  checkpoint?: { dir: string; every?: number; keep?: number };
  /** Resume from a checkpoint directory written by an earlier run with the same config and seed. */
  resumeFrom?: string;
}

export interface Prediction {
  /** Row-major [N, K] class probabilities. */
  probs: Float32Array;
  /** argmax per row [N]. */
  labels: Int32Array;
}

/** argmax of each row of row-major [N, K] probabilities (the first of equal maxima), [N]. */
export function argmaxRows(probs: Float32Array, K: number): Int32Array {
  const n = probs.length / K;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[i * K + k]! > probs[i * K + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** A method's learned state: tensors plus JSON-able facts, written to a checkpoint by `saveMethodState`. */
export interface MethodState {
  method: string;
  config: unknown;
  tensors: Record<string, SafeTensor>;
  meta: Record<string, unknown>;
}

/**
 * A trained method. Its predictions and state are read from the compute device, which for the
 * webgpu backend can only be done asynchronously: both return promises.
 */
export interface MethodResult {
  /** Target-domain predictions for features [N, E]. */
  predict(features: FeatureMatrix): Promise<Prediction>;
  history: EpochRecord[];
  state(): Promise<MethodState>;
  /** Frees the tensors the predictor holds. */
  dispose(): void;
}

/** Values over a method's schema defaults for one dataset, with where they come from. */
export interface Preset<C = unknown> {
  values: Readonly<Partial<C>>;
  /** A paper's setting, a released config file, or this project's own choice and why. */
  source: string;
}

export interface Method<C = unknown> {
  readonly name: string;
  /** One line for listings. */
  readonly describe: string;
  /** Every hyper-parameter: type, default, range, doc and the source of the default. */
  readonly configSchema: ConfigSchema;
  /** Per dataset (by its registered name: office-home, mini-domainnet, visda-2017, synth), values over the schema defaults. */
  readonly presets?: Readonly<Record<string, Preset<C>>>;
  fit(input: MethodInput<C>): Promise<MethodResult>;
  /** Rebuilds the predictor from a saved state (same classes, domains and model). */
  restore?(state: MethodState, input: RestoreInput): Promise<MethodResult>;
}

/** What rebuilding a predictor from a saved state needs besides the state. */
export type RestoreInput = Pick<MethodInput<unknown>, 'classNames' | 'domainNames' | 'clip' | 'logger'>;

/** A method of any config type, as the registry holds them (a method's config type is its own). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Method<C> takes C in and gives it out: only `any` admits every C
export type AnyMethod = Method<any>;

const registry = new Map<string, AnyMethod>();

export function registerMethod(method: AnyMethod): void {
  const existing = registry.get(method.name);
  if (existing && existing !== method) {
    throw new DamplError(`a different method named '${method.name}' is already registered`, 'give the new method another name');
  }
  registry.set(method.name, method);
}

export function getMethod<C = unknown>(name: string): Method<C> {
  const m = registry.get(name);
  if (m) return m as Method<C>;
  const names = [...registry.keys()];
  const guess = closest(name, names);
  throw new ConfigError(`unknown method '${name}'`,
    names.length ? `${guess ? `did you mean '${guess}'? ` : ''}registered methods: ${names.join(', ')}` : 'no method is registered; import @dampl/core (and @dampl/baselines)');
}

export function listMethods(): AnyMethod[] {
  return [...registry.values()];
}

export interface ResolveOptions {
  dataset: string;
  named?: string;
  /** A JSON file of key: value pairs for this method. */
  file?: string;
  /** key=value pairs, or an object of values. */
  overrides?: readonly string[] | Readonly<Record<string, unknown>>;
  /** Further layers, last wins (the command line's --config, --set and --sweep). */
  layers?: readonly ConfigLayer[];
}

/**
 * The layers of a method's config for a run, in the fixed order: dataset preset < named config <
 * JSON file < overrides < further layers, over the schema defaults.
 */
async function methodConfigLayers(method: Method<unknown>, opts: ResolveOptions): Promise<ConfigLayer[]> {
  const layers: ConfigLayer[] = [];
  const preset = method.presets?.[opts.dataset];
  if (preset) layers.push({ source: `${method.name}'s preset for ${opts.dataset}`, values: preset.values as Record<string, unknown> });
  if (opts.named) {
    const n = getNamedConfig(method.name, opts.named);
    layers.push({ source: `named config ${method.name}@${n.name}`, values: n.values });
  }
  if (opts.file) layers.push(await loadConfigFile(opts.file));
  if (opts.overrides) {
    layers.push(Array.isArray(opts.overrides)
      ? parseConfigPairs(opts.overrides as readonly string[])
      : { source: 'overrides', values: opts.overrides as Record<string, unknown> });
  }
  layers.push(...(opts.layers ?? []));
  return layers;
}

/** A method's config for a run (methodConfigLayers over the schema defaults), validated. */
export async function resolveMethodConfig<C>(method: Method<C>, opts: ResolveOptions): Promise<C> {
  return resolveConfig(method.configSchema, await methodConfigLayers(method as Method<unknown>, opts)) as C;
}

/** The same config with each key's source: the layer that set it, else the schema default's. */
export async function explainMethodConfig(method: Method<unknown>, opts: ResolveOptions): Promise<Record<string, { value: unknown; from: string }>> {
  return resolveWithSources(method.configSchema, await methodConfigLayers(method, opts));
}

/** The method's config for a dataset before any named config or override: schema defaults < preset. */
export function methodDefaults<C>(method: Method<C>, dataset: string): C {
  const preset = method.presets?.[dataset];
  return resolveConfig(method.configSchema, preset ? [{ source: `${method.name}'s preset for ${dataset}`, values: preset.values as Record<string, unknown> }] : []) as C;
}

/** What a caller holds before the labels are wrapped: `fitMethod`'s input. */
export type LabelledMethodInput<C> = Omit<MethodInput<C>, 'targetAnalysis' | 'evalTarget'> & {
  /** Target training labels, for the history's analysis metrics only. */
  targetLabelsForAnalysis?: Int32Array;
  /** `onScored` receives each whole prediction of the set the method scores (after each epoch). */
  evalTarget?: { features: FeatureMatrix; labels: Int32Array; onScored?: (predicted: Int32Array) => void };
};

/**
 * Runs `method.fit`, turning `targetLabelsForAnalysis` and the evaluation labels into
 * TargetAnalysis objects so that the labels themselves never enter the method.
 */
export function fitMethod<C>(method: Method<C>, input: LabelledMethodInput<C>): Promise<MethodResult> {
  const { targetLabelsForAnalysis, evalTarget, ...rest } = input;
  if (evalTarget && evalTarget.labels.length !== evalTarget.features.rows) {
    throw new DamplError(`evaluation set: ${evalTarget.labels.length} labels for ${evalTarget.features.rows} feature rows`);
  }
  return method.fit({
    ...rest,
    ...(targetLabelsForAnalysis ? { targetAnalysis: makeTargetAnalysis(targetLabelsForAnalysis) } : {}),
    ...(evalTarget ? { evalTarget: { features: evalTarget.features, analysis: makeTargetAnalysis(evalTarget.labels, evalTarget.onScored) } } : {}),
  });
}

/** Checks a feature matrix's size and finiteness of shape; returns it. */
export function checkFeatures(m: FeatureMatrix, what: string, dim?: number): FeatureMatrix {
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.dim) || m.data.length !== m.rows * m.dim) {
    throw new DamplError(`${what}: ${m.data.length} values do not form [${m.rows}, ${m.dim}]`);
  }
  if (dim !== undefined && m.dim !== dim) {
    throw new DamplError(`${what}: features have dimension ${m.dim}, the model's joint embedding has ${dim}`,
      'extract features with the same CLIP model that provides the text tower');
  }
  return m;
}
