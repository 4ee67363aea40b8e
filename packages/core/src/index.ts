/**
 * @dampl/core: the `Method` contract and registry every method implements, presets and named
 * configs; DAMPL (prompt learner, pseudo-label correction, IM loss, trainer, checkpoints,
 * ablations); the builders other methods use: `promptMethod` (CoOp, DAPL) and the feature-space
 * trainer `featureMethod` (DANN, DAN, CDAN, MCC, SHOT-IM and generated method packages).
 */
export type { TextTower, TextTowerConfig, TextTokenizer, TokenBatch } from './types.js';
export {
  defineSchema, resolveConfig, validateConfig, stableStringify, hashSchemaConfig, type FieldSpec, type ConfigSchema,
  type ConfigOf, type ConfigLayer,
} from '@dampl/runtime';
export { registerNamedConfig, getNamedConfig, listNamedConfigs, type NamedConfig } from './config.js';
export {
  registerMethod, getMethod, listMethods, resolveMethodConfig, explainMethodConfig, methodDefaults, fitMethod,
  makeTargetAnalysis, checkFeatures, argmaxRows, type Method, type AnyMethod, type Preset,
  type ResolveOptions, type MethodInput, type RestoreInput, type LabelledMethodInput, type MethodResult,
  type MethodState, type FeatureMatrix, type Prediction, type EpochRecord, type StepRecord, type TargetAnalysis,
} from './methods.js';
export {
  l2Normalize, cosineLogits, crossEntropy, imLoss,
} from './losses.js';
export { PromptLearner, zeroShotTextFeatures, type PromptOptions } from './prompt.js';
export {
  type Correction, type PseudoLabelOptions, type PseudoLabels,
} from './pseudo.js';
export { type OptimConfig, type Optimizer } from './optim.js';
export {
  TrainingAborted, NonFiniteLossError, type TrainModel, type TrainOptions, type TrainerConfig, type LoopConfig,
  type Batch,
} from './trainer.js';
export {
  saveMethodState, loadMethodState, readCheckpoint, type Checkpoint, type TrainerState,
} from './checkpoint.js';
export { dampl } from './dampl.js';
export { TextPredictor } from './text-predictor.js';
export { promptMethod, type PromptMethodSpec, type PromptModel } from './prompt-method.js';
export { VIEWS_FIELD, parseViews, epochView, epochViewIndices, epochFeaturesFor, type ViewsMode, type TrainViews, type OnlineViews, type EpochFeatures } from './views.js';
export { damplSchema, damplPresets, type DamplConfig } from './dampl-config.js';
export { Linear, BatchNorm1d, ReLU, Sequential, disposeLayer, type Layer } from './feature-space/nn.js';
export { featureMethod, featureTrainFields, featureData, analyse, checkState, fromSafeTensors, type FeatureMethodSpec } from './feature-space/feature-method.js';
/**
 * Imported by the method packages that `nx g @dampl/bench:method` writes (generators/method/files).
 * @public
 */
export { toSafeTensors } from './feature-space/feature-method.js';
export {
  trainHead, runEpochs, sgdStep, deviceFeatures, gatherRows, l2normalizeRows, BatchSampler, Sgd, FeatureClassifier,
  BOTTLENECKS, type Bottleneck, type FeatureData, type FeatureTrainConfig, type TrainHooks, type FeatureEpoch,
  type Alignment, type AlignmentInput,
} from './feature-space/feature-train.js';

import { registerDamplAblations } from './ablations.js';
import { registerNamedConfig } from './config.js';
import { releasedRecipe } from './dampl-config.js';
import { releasedConfigs } from './released-configs.js';
import { dampl } from './dampl.js';
import { registerMethod } from './methods.js';

registerMethod(dampl);
registerDamplAblations();
registerNamedConfig(releasedRecipe('dampl'));
registerNamedConfig(releasedRecipe('dapl'));
for (const c of releasedConfigs()) registerNamedConfig(c);

/**
 * What the bench registers from this package (package.json: "dampl": { "methods": "./src/index.ts" }),
 * read by the bench's package discovery rather than imported.
 * @public
 */
export const methods = [dampl];
