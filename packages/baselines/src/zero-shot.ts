/**
 * Zero-shot CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
 * Supervision", ICML 2021, section 3.1): no training; the classifier is the text tower's
 * features of the class prompts.
 *
 *   z_k = normalise(mean_t normalise(g(template_t(class k))))     [K, E]
 *   p(k | x) = softmax_k(s * cos(f(x), z_k))                     x [N, E] -> [N, K]
 *
 * with s = exp(logit_scale) of the model. Two methods:
 *   'zero-shot'           one template, "a photo of a {class}." (the prompt of DAPL's zero-shot
 *                         CLIP baseline and of its pseudo-labels, LeapLabTHU/DAPrompt trainers/dapl.py)
 *   'zero-shot-ensemble'  CLIP's 80 ImageNet templates (section 3.1.4, "prompt ensembling": the
 *                         mean of the normalised text features, normalised again), copied from
 *                         openai/CLIP notebooks/Prompt_Engineering_for_ImageNet.ipynb into
 *                         packages/clip/src/data/imagenet-templates.json.
 * Source features and labels are not used. The history has one record, with the analysis
 * accuracies when labels were given.
 *
 * @example
 *   const result = await fitMethod(zeroShot, { ...input, clip, config: methodDefaults(zeroShot, 'office-home') });
 *   result.predict(targetFeatures).labels; // [Nt]
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DamplError } from '@dampl/runtime';
import {
  analyse, defineSchema, fromSafeTensors, l2Normalize, TextPredictor, validateConfig, zeroShotTextFeatures,
  type ConfigOf, type EpochRecord, type Method, type MethodInput, type MethodResult, type MethodState,
  type RestoreInput, type TextTower,
} from '@dampl/core';
import { CLIP_IMAGENET_TEMPLATES } from '@dampl/clip';

export { CLIP_IMAGENET_TEMPLATES };
const SINGLE_TEMPLATE = 'a photo of a {class}.';

const schemaWith = (templates: readonly string[], source: string) => defineSchema({
  templates: { type: 'string[]', default: templates, minItems: 1, doc: 'prompt templates with {class}; several are averaged', source },
  evalBatch: { type: 'integer', default: 4096, min: 1, doc: 'rows per chunk when predicting (does not change results)', source: 'this project' },
});

export const zeroShotSchema = schemaWith([SINGLE_TEMPLATE], "DAPL trainers/dapl.py: the zero-shot CLIP baseline's 'a photo of a {}.'");
const zeroShotEnsembleSchema = schemaWith(CLIP_IMAGENET_TEMPLATES, "CLIP's 80 ImageNet templates (openai/CLIP notebooks/Prompt_Engineering_for_ImageNet.ipynb)");
export type ZeroShotConfig = ConfigOf<typeof zeroShotSchema>;

/**
 * The zero-shot classifier z [K, E] for `templates`: core's `zeroShotTextFeatures` one template at
 * a time (each encoded and freed in turn, so 80 templates need the memory of one), then the
 * mean of the normalised per-template features, normalised.
 */
function ensembleTextFeatures(tower: TextTower, classNames: readonly string[], templates: readonly string[]): tf.Tensor2D {
  if (!templates.length) throw new ConfigError('zero-shot templates: give at least one, e.g. "a photo of a {class}."');
  for (const t of templates) {
    if (!t.includes('{class}')) throw new ConfigError(`zero-shot template '${t}' has no {class}`, 'write the class placeholder as {class}, e.g. "a photo of a {class}."');
  }
  if (templates.length === 1) return zeroShotTextFeatures(tower, classNames, templates);
  let sum: tf.Tensor2D | undefined;
  for (const t of templates) {
    const z = zeroShotTextFeatures(tower, classNames, [t]);
    const next = sum ? tf.add(sum, z) as tf.Tensor2D : tf.clone(z);
    sum?.dispose();
    z.dispose();
    sum = next;
  }
  const out = tf.tidy(() => l2Normalize(sum!));
  sum!.dispose();
  return out;
}

function resultFrom(name: string, predictor: TextPredictor, text: Float32Array, K: number, E: number, config: ZeroShotConfig, history: EpochRecord[], meta: Record<string, unknown>): MethodResult {
  return {
    predict: (f) => predictor.predict(f),
    history,
    state: async (): Promise<MethodState> => ({ method: name, config, tensors: { text_features: { dtype: 'F32', shape: [K, E], data: text } }, meta: { ...meta, history } }),
    dispose: () => predictor.dispose(),
  };
}

function zeroShotMethod(name: string, describe: string, schema: typeof zeroShotSchema): Method<ZeroShotConfig> {
  return {
    name,
    describe,
    configSchema: schema,

    async fit(input: MethodInput<ZeroShotConfig>): Promise<MethodResult> {
      const cfg = validateConfig(schema, input.config as Record<string, unknown>, `${name} config`);
      const tower = input.clip;
      if (!tower) throw new DamplError(`${name} needs the CLIP text tower (input.clip)`, 'load the CLIP model whose image encoder produced the features and pass it as clip');
      const t0 = performance.now();
      const z = ensembleTextFeatures(tower, input.classNames, cfg.templates);
      const [K, E] = z.shape;
      const text = Float32Array.from((await z.data()) as Float32Array);
      const predictor = new TextPredictor(z, tower.logitScale, cfg.evalBatch);
      const record: EpochRecord = { epoch: 1, step: 0, lr: 0, losses: {}, ...(await analyse(input, (f) => predictor.predict(f))) };
      input.logger?.child(name).info(`text classifier from ${cfg.templates.length} template(s) x ${K} classes in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      input.onEpoch?.(record);
      return resultFrom(name, predictor, text, K, E, cfg, [record], {
        classNames: [...input.classNames], logitScale: tower.logitScale, weightsHash: tower.weightsHash,
      });
    },

    async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
      if (state.method !== name) throw new ConfigError(`a '${state.method}' state cannot be restored by ${name}`);
      const cfg = validateConfig(schema, state.config as Record<string, unknown>, `saved ${name} config`);
      const meta = state.meta as { classNames?: string[]; logitScale?: number; history?: EpochRecord[] };
      const t = fromSafeTensors(state.tensors).get('text_features');
      const K = input.classNames.length;
      if (!t || !meta.logitScale || t.length % K !== 0) throw new ConfigError(`the saved ${name} state lacks text features for ${K} classes or the logit scale`);
      if (meta.classNames && JSON.stringify(meta.classNames) !== JSON.stringify(input.classNames)) {
        throw new ConfigError(`the saved ${name} state was made for classes ${JSON.stringify(meta.classNames)}, not ${JSON.stringify(input.classNames)}`);
      }
      const E = t.length / K;
      return resultFrom(name, new TextPredictor(tf.tensor2d(t, [K, E]), meta.logitScale, cfg.evalBatch), t, K, E, cfg, meta.history ?? [], { ...meta });
    },
  };
}

export const zeroShot = zeroShotMethod('zero-shot', 'Zero-shot CLIP: "a photo of a {class}."', zeroShotSchema);
export const zeroShotEnsemble = zeroShotMethod('zero-shot-ensemble', "Zero-shot CLIP with CLIP's 80-template prompt ensemble", zeroShotEnsembleSchema);
