/**
 * Wraps a feature-space trainer (modules/feature-train.ts) as a `Method`: config schema with
 * per-dataset defaults, input checks, per-epoch history with the analysis accuracies, the
 * predictor, its state and `restore`. Feature-space methods ignore `clip`, `classNames` (except
 * for their number) and `domainNames`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError, DamplError, Rng, readFloat32, validateConfig, type ConfigOf, type ConfigSchema, type SafeTensor,
} from '@dampl/runtime';
import {
  checkFeatures, type EpochRecord, type FeatureMatrix, type Method, type MethodInput,
  type MethodResult, type MethodState, type Prediction, type Preset, type RestoreInput,
} from '../methods.js';
import { VIEWS_FIELD, epochFeaturesFor } from '../views.js';
import {
  FeatureClassifier, type FeatureData, type FeatureEpoch, type FeatureTrainConfig, type TrainHooks,
} from './feature-train.js';

/**
 * The schema fields of `FeatureTrainConfig` with the defaults of a published recipe `d` and where
 * it is published (`source`, e.g. "TLlib examples/domain_adaptation/image_classification/dann.py"):
 * each field names the recipe's argument.
 */
export function featureTrainFields(d: FeatureTrainConfig, source: string) {
  return {
    epochs: { type: 'integer', default: d.epochs, min: 1, doc: 'epochs', source: `${source} --epochs` },
    itersPerEpoch: { type: 'integer', default: d.itersPerEpoch, min: 1, doc: 'iterations per epoch', source: `${source} --iters-per-epoch` },
    batchSize: { type: 'integer', default: d.batchSize, min: 2, doc: 'B source + B target features per step', source: `${source} --batch-size` },
    lr: { type: 'number', default: d.lr, min: 0, doc: 'initial learning rate of bottleneck, classifier and discriminator', source: `${source} --lr` },
    lrGamma: { type: 'number', default: d.lrGamma, min: 0, doc: 'lr_i = lr (1 + lrGamma i)^-lrDecay', source: `${source} --lr-gamma` },
    lrDecay: { type: 'number', default: d.lrDecay, min: 0, doc: 'the decay power of the learning rate', source: `${source} --lr-decay` },
    momentum: { type: 'number', default: d.momentum, min: 0, max: 1, doc: 'SGD momentum', source: `${source} --momentum` },
    nesterov: { type: 'boolean', default: d.nesterov, doc: 'Nesterov momentum', source: `${source}: SGD(..., nesterov=True)` },
    weightDecay: { type: 'number', default: d.weightDecay, min: 0, doc: 'L2 weight decay', source: `${source} --wd` },
    bottleneckDim: { type: 'integer', default: d.bottleneckDim, min: 1, doc: 'bottleneck width d', source: `${source} --bottleneck-dim` },
    normalize: { type: 'boolean', default: d.normalize, doc: 'L2-normalise the CLIP features before the bottleneck', source: 'this project: CLIP features are compared by cosine' },
    tradeOff: { type: 'number', default: d.tradeOff, min: 0, doc: 'weight of the transfer loss', source: `${source} --trade-off` },
    views: VIEWS_FIELD,
  } as const;
}

/** Source/target features and labels checked and unpacked for the feature trainers. */
export function featureData(input: Pick<MethodInput<unknown>, 'source' | 'sourceLabels' | 'target' | 'classNames'>): FeatureData {
  const K = input.classNames.length;
  if (K < 2) throw new ConfigError(`classification needs at least 2 classes, got ${K}`);
  checkFeatures(input.source, 'source features');
  checkFeatures(input.target, 'target features', input.source.dim);
  if (input.sourceLabels.length !== input.source.rows) {
    throw new DamplError(`${input.sourceLabels.length} source labels for ${input.source.rows} source feature rows`);
  }
  if (input.source.rows === 0 || input.target.rows === 0) throw new DamplError('source and target need at least one feature row each');
  for (const y of input.sourceLabels) if (!(y >= 0 && y < K)) throw new DamplError(`source label ${y} is outside the ${K} classes`);
  return { source: input.source.data, sourceLabels: input.sourceLabels, target: input.target.data, dim: input.source.dim, numClasses: K };
}

/** The analysis numbers of an epoch record from a predictor. */
export async function analyse(input: Pick<MethodInput<unknown>, 'target' | 'targetAnalysis' | 'evalTarget'>, predict: (f: FeatureMatrix) => Promise<Prediction>): Promise<Partial<EpochRecord>> {
  const out: Partial<EpochRecord> = {};
  if (input.targetAnalysis) out.targetAccuracy = input.targetAnalysis.accuracy((await predict(input.target)).labels);
  if (input.evalTarget) out.evalAccuracy = input.evalTarget.analysis.accuracy((await predict(input.evalTarget.features)).labels);
  return out;
}

/** Named tensors read from the device in one transfer, as safetensors entries. */
export async function toSafeTensors(m: ReadonlyMap<string, tf.Tensor>): Promise<Record<string, SafeTensor>> {
  const entries = [...m];
  const values = await readFloat32(entries.map(([, t]) => t));
  return Object.fromEntries(entries.map(([k, t], i) => [k, { dtype: 'F32', shape: [...t.shape], data: values[i]! } satisfies SafeTensor]));
}

export const fromSafeTensors = (tensors: Record<string, SafeTensor>): Map<string, Float32Array> =>
  new Map(Object.entries(tensors).map(([k, t]) => [k, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>)]));

/** Checks that a saved state belongs to `name` and to these classes; returns its meta. */
export function checkState(name: string, state: MethodState, input: RestoreInput): { dim: number; numClasses: number; seed: number; history: EpochRecord[] } {
  if (state.method !== name) throw new ConfigError(`a '${state.method}' state cannot be restored by ${name}`);
  const meta = state.meta as { dim?: number; numClasses?: number; seed?: number; history?: EpochRecord[]; classNames?: string[] };
  if (!meta.dim || !meta.numClasses) throw new ConfigError(`the saved ${name} state has no feature size or class count`);
  if (meta.classNames && JSON.stringify(meta.classNames) !== JSON.stringify(input.classNames)) {
    throw new ConfigError(`the saved ${name} state was trained for classes ${JSON.stringify(meta.classNames)}, not ${JSON.stringify(input.classNames)}`);
  }
  return { dim: meta.dim, numClasses: meta.numClasses, seed: meta.seed ?? 0, history: meta.history ?? [] };
}

export interface FeatureMethodSpec<S extends ConfigSchema> {
  name: string;
  describe: string;
  schema: S;
  /** Values over the schema defaults, by dataset name ('office-home', 'mini-domainnet', 'visda-2017', 'synth'), each with its source. */
  presets: Readonly<Record<string, Preset<ConfigOf<S>>>>;
  train(data: FeatureData, cfg: ConfigOf<S>, rng: Rng, hooks: TrainHooks): Promise<{ model: FeatureClassifier; history: FeatureEpoch[] }>;
}

function resultFrom(name: string, model: FeatureClassifier, config: unknown, history: EpochRecord[], meta: Record<string, unknown>): MethodResult {
  return {
    predict: (features) => model.predict(features),
    history,
    state: async () => ({ method: name, config, tensors: await toSafeTensors(model.state()), meta: { ...meta, dim: model.dim, numClasses: model.numClasses, history } }),
    dispose: () => model.dispose(),
  };
}

/** A `Method` around a bottleneck-classifier trainer. */
export function featureMethod<S extends ConfigSchema>(spec: FeatureMethodSpec<S>): Method<ConfigOf<S>> {
  const { name, schema } = spec;
  return {
    name,
    describe: spec.describe,
    configSchema: schema,
    presets: spec.presets,

    async fit(input: MethodInput<ConfigOf<S>>): Promise<MethodResult> {
      const cfg = validateConfig(schema, input.config as Record<string, unknown>, `${name} config`);
      if (input.resumeFrom) {
        throw new ConfigError(`${name} cannot resume from a checkpoint`, 'feature-space methods train in one go; run it again without resumeFrom');
      }
      const views = epochFeaturesFor(input, (cfg as { views?: string }).views ?? '0', name);
      const data: FeatureData = { ...featureData(input), ...(views ? { views } : {}) };
      const log = input.logger?.child(name);
      const history: EpochRecord[] = [];
      const { model } = await spec.train(data, cfg, new Rng(input.seed), {
        log,
        signal: input.signal,
        onStep: input.onStep,
        onEpoch: async (r, m) => {
          const record: EpochRecord = { ...r, ...(await analyse(input, (f) => m.predict(f))) };
          history.push(record);
          log?.info(`epoch ${r.epoch} step ${r.step} lr ${r.lr.toExponential(3)} ` +
            Object.entries(r.losses).map(([k, v]) => `${k}=${v.toPrecision(5)}`).join(' ') +
            (record.evalAccuracy !== undefined ? ` eval acc ${(100 * record.evalAccuracy).toFixed(2)}%` : ''));
          input.onEpoch?.(record);
        },
      });
      return resultFrom(name, model, cfg, history, { classNames: [...input.classNames], domainNames: [...input.domainNames], seed: input.seed });
    },

    async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
      const meta = checkState(name, state, input);
      const cfg = validateConfig(schema, state.config as Record<string, unknown>, `saved ${name} config`);
      const c = cfg as unknown as FeatureTrainConfig;
      const model = new FeatureClassifier(meta.dim, meta.numClasses, c.bottleneckDim, c.normalize, new Rng(meta.seed).fork('init'), c.bottleneck);
      try {
        model.load(fromSafeTensors(state.tensors));
      } catch (e) {
        model.dispose();
        throw e;
      }
      return resultFrom(name, model, cfg, meta.history, { classNames: [...input.classNames], domainNames: [...input.domainNames], seed: meta.seed });
    },
  };
}
