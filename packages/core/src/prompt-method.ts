/**
 * The builder of the methods that learn prompt vectors in front of CLIP's frozen text tower:
 * DAMPL (and DAPL, which is DAMPL with two components off) and CoOp.
 *
 * What they share is written here once: the input checks common to all, the `PromptLearner`
 * seeded from the run's seed, core's `train` loop with checkpoints and resume, the state (the
 * learned vectors with the classes, domains, seed, text-tower hash, config hash and history),
 * the predictor from the trained text features, and `restore`, which refuses a state trained for
 * other classes (or domains). What differs is the spec: the learner's layout, the loss (the
 * `PromptModel`), the trainer settings, and which prompts predict.
 *
 * @example
 *   export const myPrompts = promptMethod({ name: 'my-prompts', title: 'MyPrompts', ... });
 *   const result = await fitMethod(myPrompts, { ...input, clip, config: methodDefaults(myPrompts, 'synth') });
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError, DamplError, Rng, hashConfig, validateConfig, type ConfigSchema,
} from '@dampl/runtime';
import { fromSafeTensors, toSafeTensors } from './feature-space/feature-method.js';
import type { EpochRecord, Method, MethodInput, MethodResult, MethodState, Preset, RestoreInput } from './methods.js';
import type { PromptLearner } from './prompt.js';
import { TextPredictor } from './text-predictor.js';
import { train, type TrainModel, type TrainerConfig } from './trainer.js';
import type { TextTower } from './types.js';

/** The loss side of a prompt method: the trainer's model without its state, which the builder adds. */
export type PromptModel = Omit<TrainModel, 'state' | 'params'> & { dispose(): void };

type Identity = Pick<MethodInput<unknown>, 'classNames' | 'domainNames' | 'seed'>;

export interface PromptMethodSpec<C extends object> {
  name: string;
  /** The method's name in messages, e.g. 'CoOp'. */
  title: string;
  describe: string;
  configSchema: ConfigSchema;
  presets: Readonly<Record<string, Preset<C>>>;
  /** The prompt learner for these classes and domains, its random initialisation drawn from `rng`. */
  learner(tower: TextTower, classNames: readonly string[], domainNames: readonly string[], cfg: C, rng: Rng): PromptLearner;
  /** The learner's trained variables by state name: what the optimiser updates and the state keeps. */
  params(learner: PromptLearner): ReadonlyMap<string, tf.Variable>;
  /** Input checks beyond the config's, before any tensor is made. */
  checkInput?(input: MethodInput<C>, tower: TextTower): void;
  /** The loss and per-epoch hooks for one run. */
  model(learner: PromptLearner, input: MethodInput<C>, cfg: C, tower: TextTower): PromptModel;
  /** The trainer's settings from the method's config. */
  trainerConfig(cfg: C): TrainerConfig;
  /** The text features [K, E] the trained method predicts with (a new tensor). */
  predictText(learner: PromptLearner): tf.Tensor2D;
  /** A saved state's vectors back into a fresh learner. */
  load(learner: PromptLearner, tensors: Map<string, Float32Array>): void;
  /** What a restore compares with the saved state. */
  sameAs: readonly ('classes' | 'domains')[];
}

/** The state of a trained learner, read from the device. */
async function promptState<C extends object>(spec: PromptMethodSpec<C>, learner: PromptLearner, config: C, input: Identity, tower: TextTower, history: EpochRecord[]): Promise<MethodState> {
  return {
    method: spec.name,
    config,
    tensors: await toSafeTensors(spec.params(learner)),
    meta: {
      classNames: [...input.classNames],
      domainNames: [...input.domainNames],
      seed: input.seed,
      weightsHash: tower.weightsHash,
      configHash: hashConfig(config),
      history,
    },
  };
}

/** The predictor and state of a learner, read before the caller disposes it. */
async function resultFrom<C extends object>(spec: PromptMethodSpec<C>, learner: PromptLearner, cfg: C & { evalBatch: number }, tower: TextTower, history: EpochRecord[], input: Identity): Promise<MethodResult> {
  const predictor = new TextPredictor(spec.predictText(learner), tower.logitScale, cfg.evalBatch);
  const state = await promptState(spec, learner, cfg, input, tower, history);
  return { predict: (f) => predictor.predict(f), history, state: async () => state, dispose: () => predictor.dispose() };
}

/** A `Method` from a prompt-method spec. */
export function promptMethod<C extends { evalBatch: number }>(spec: PromptMethodSpec<C>): Method<C> {
  const requireTower = (clip: TextTower | undefined): TextTower => {
    if (!clip) throw new DamplError(`${spec.title} needs the CLIP text tower (input.clip)`, 'load the CLIP model whose image encoder produced the features and pass it as clip');
    return clip;
  };
  return {
    name: spec.name,
    describe: spec.describe,
    configSchema: spec.configSchema,
    presets: spec.presets,

    async fit(input: MethodInput<C>): Promise<MethodResult> {
      const tower = requireTower(input.clip);
      const cfg = validateConfig(spec.configSchema, input.config as Record<string, unknown>, `${spec.name} config`) as unknown as C;
      spec.checkInput?.(input, tower);
      const learner = spec.learner(tower, input.classNames, input.domainNames, cfg, new Rng(input.seed).fork('init'));
      let hooks: PromptModel | undefined;
      try {
        const m = spec.model(learner, input, cfg, tower);
        hooks = m;
        const model: TrainModel = {
          params: spec.params(learner),
          beforeEpoch: m.beforeEpoch && ((epoch) => m.beforeEpoch!(epoch)),
          loss: (batch, epoch) => m.loss(batch, epoch),
          afterEpoch: m.afterEpoch && ((epoch) => m.afterEpoch!(epoch)),
          state: (history) => promptState(spec, learner, cfg, input, tower, history),
        };
        const history = await train(model, {
          config: spec.trainerConfig(cfg),
          methodConfig: cfg,
          nSource: input.source.rows,
          nTarget: input.target.rows,
          seed: input.seed,
          logger: input.logger?.child(spec.name),
          onEpoch: input.onEpoch,
          onStep: input.onStep,
          signal: input.signal,
          checkpoint: input.checkpoint,
          resumeFrom: input.resumeFrom,
        });
        return await resultFrom(spec, learner, cfg, tower, history, input);
      } finally {
        hooks?.dispose();
        learner.dispose();
      }
    },

    async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
      if (state.method !== spec.name) throw new ConfigError(`a '${state.method}' state cannot be restored by ${spec.name}`);
      const tower = requireTower(input.clip);
      const cfg = validateConfig(spec.configSchema, state.config as Record<string, unknown>, `saved ${spec.name} config`) as unknown as C;
      const meta = state.meta as { seed?: number; history?: EpochRecord[]; classNames?: string[]; domainNames?: string[] };
      const compared = { classes: [meta.classNames, input.classNames], domains: [meta.domainNames, input.domainNames] } as const;
      for (const what of spec.sameAs) {
        const [saved, given] = compared[what];
        if (saved && JSON.stringify(saved) !== JSON.stringify(given)) {
          throw new ConfigError(`the saved ${spec.title} state was trained for ${what} ${JSON.stringify(saved)}, not ${JSON.stringify(given)}`);
        }
      }
      const seed = meta.seed ?? 0;
      const learner = spec.learner(tower, input.classNames, input.domainNames, cfg, new Rng(seed).fork('init'));
      try {
        spec.load(learner, fromSafeTensors(state.tensors));
        return await resultFrom(spec, learner, cfg, tower, meta.history ?? [], { classNames: input.classNames, domainNames: input.domainNames, seed });
      } finally {
        learner.dispose();
      }
    },
  };
}
