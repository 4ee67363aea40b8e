/**
 * The baselines, each a `Method` registered by name on import, all on the same frozen CLIP
 * features as DAMPL:
 *
 *   zero-shot, zero-shot-ensemble   CLIP with "a photo of a {class}." / CLIP's 80 templates
 *   coop                            CoOp prompts trained on the source only
 *   linear-probe                    logistic regression on source features
 *   source-only                     DANN/DAN's bottleneck + classifier without transfer loss
 *   dapl                            DAPL (DAMPL with no correction and no IM loss)
 *   dann, dan                       domain-adversarial / MK-MMD bottleneck on features
 *   cdan, mcc                       conditional adversarial alignment, minimum class confusion on features
 *
 * SHOT-IM is its own package (packages/shot-im), built like these on core's feature-space trainer.
 *
 * A new method is best a package of its own: `npx nx g @dampl/bench:method <name>` (README, "Add a method").
 */
import { registerMethod, registerNamedConfig, type AnyMethod } from '@dampl/core';
import { cdan } from './cdan.js';
import { coop } from './coop.js';
import { dan } from './dan.js';
import { dann } from './dann.js';
import { dapl } from './dapl.js';
import { linearProbe } from './linear-probe.js';
import { mcc } from './mcc.js';
import { sourceOnly } from './source-only.js';
import { tllibConfigs } from './tllib-configs.js';
import { zeroShot, zeroShotEnsemble } from './zero-shot.js';

export { zeroShot, zeroShotEnsemble, ensembleTextFeatures, CLIP_IMAGENET_TEMPLATES, SINGLE_TEMPLATE, zeroShotSchema, zeroShotEnsembleSchema, type ZeroShotConfig } from './zero-shot.js';
export { coop, coopSchema, coopPresets, type CoopConfig } from './coop.js';
export { linearProbe, linearProbeSchema, type LinearProbeConfig } from './linear-probe.js';
export { sourceOnly, sourceOnlySchema } from './source-only.js';
export { dapl, daplSchema, daplPresets, daplAsDampl, type DaplConfig } from './dapl.js';
export { dann, dannSchema, fitDann, domainDiscriminator, dannDomainLoss, DANN_RECIPE, DANN_SOURCE, adversarialFields, type DannConfig } from './dann.js';
export { dan, danSchema, fitDan, type DanConfig } from './dan.js';
export { cdan, cdanSchema, fitCdan, multilinearMap, type CdanConfig } from './cdan.js';
export { mcc, mccSchema, fitMcc, mccLoss, type MccConfig } from './mcc.js';
export { gradientReverse, grlCoefficient } from './modules/grl.js';
export { mkmmd, pairwiseSquaredDistances, type MkmmdOptions } from './modules/mmd.js';
export { lbfgs, type LbfgsOptions, type LbfgsResult } from './modules/lbfgs.js';
export { danTllib, dannTllib, tllibConfigs } from './tllib-configs.js';

/** Every baseline, in the order listings show them. */
export const baselines: readonly AnyMethod[] = [
  zeroShot,
  zeroShotEnsemble,
  coop,
  linearProbe,
  sourceOnly,
  dapl,
  dann,
  dan,
  cdan,
  mcc,
];

/** What the bench registers from this package (package.json: "dampl": { "methods": "./src/index.ts" }). */
export const methods = baselines;

for (const m of baselines) registerMethod(m);
for (const c of tllibConfigs) registerNamedConfig(c);
