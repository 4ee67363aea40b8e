/**
 * Source-only head: the bottleneck and classifier of DANN and DAN (modules/feature-train.ts)
 * trained on labelled source features alone, with DANN's recipe, so that it differs from DANN
 * and DAN only in their transfer loss.
 *
 *   f = bottleneck(x)     Linear(E, 256) - BN - ReLU      [B, 256]
 *   L = CE(classifier(f_s), y_s)                           (target features are not used)
 *
 * Hyper-parameters: TLlib examples/domain_adaptation/image_classification/dann.py (SGD Nesterov
 * lr 0.01, momentum 0.9, weight decay 1e-3, lr_i = lr (1 + 0.001 i)^-0.75, batch 32, 20 epochs
 * of 1000 iterations, bottleneck 256) and dann.sh's per-dataset epochs. TLlib's own ERM baseline
 * (erm.py: lr 0.001, 20 x 500 iterations) fine-tunes its backbone; on frozen features DANN's
 * recipe is the matched comparison.
 *
 * @example
 *   const result = await fitMethod(sourceOnly, { ...input, config: methodDefaults(sourceOnly, 'office-home') });
 */
import { defineSchema, featureMethod, featureTrainFields, trainHead } from '@dampl/core';
import { DANN_RECIPE, DANN_SOURCE } from './dann.js';

const { tradeOff: _t, ...fields } = featureTrainFields(DANN_RECIPE, DANN_SOURCE);
const sourceOnlySchema = defineSchema(fields);

export const sourceOnly = featureMethod({
  name: 'source-only',
  describe: 'Source-only bottleneck + classifier on frozen CLIP features (DANN/DAN without their transfer loss)',
  schema: sourceOnlySchema,
  presets: {
    'office-home': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (Office-Home: --epochs 30)' },
    'visda-2017': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (VisDA-2017: --epochs 30)' },
    'mini-domainnet': { values: { bottleneckDim: 1024, epochs: 30, itersPerEpoch: 2500 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (DomainNet)' },
    synth: { values: { epochs: 5, itersPerEpoch: 60 }, source: "this project: DANN's synth schedule" },
  },
  train: (data, cfg, rng, hooks) => trainHead(data, { ...cfg, tradeOff: 0 }, rng, hooks),
});
