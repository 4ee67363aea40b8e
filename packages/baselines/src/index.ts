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

export {
  type ZeroShotConfig,
} from './zero-shot.js';
export { type CoopConfig } from './coop.js';
export { type LinearProbeConfig } from './linear-probe.js';
export { dapl, daplAsDampl, type DaplConfig } from './dapl.js';
export { dann, type DannConfig } from './dann.js';
export { dan, danSchema, type DanConfig } from './dan.js';
export { type CdanConfig } from './cdan.js';
export { type MccConfig } from './mcc.js';
export { type MkmmdOptions } from './modules/mmd.js';
export { type LbfgsOptions, type LbfgsResult } from './modules/lbfgs.js';

/**
 * Every baseline, in the order listings show them: what the bench registers from this package
 * (package.json: "dampl": { "methods": "./src/index.ts" }).
 */
export const methods: readonly AnyMethod[] = [
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

for (const m of methods) registerMethod(m);
for (const c of tllibConfigs) registerNamedConfig(c);
