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
 *   const result = await fitMethod(sourceOnly, { ...input, config: sourceOnly.defaults('office-home') });
 */
import { defineSchema } from '@dampl/core';
import { DANN_DEFAULTS } from './dann.js';
import { featureMethod, featureTrainFields } from './modules/feature-method.js';
import { trainHead } from './modules/feature-train.js';

const { discriminatorWidth: _w, grlAlpha: _a, grlSteps: _s, ...defaults } = DANN_DEFAULTS;

const { tradeOff: _t, ...fields } = featureTrainFields(defaults, 'TLlib dann.py');
export const sourceOnlySchema = defineSchema(fields);

export const sourceOnly = featureMethod({
  name: 'source-only',
  describe: 'Source-only bottleneck + classifier on frozen CLIP features (DANN/DAN without their transfer loss)',
  schema: sourceOnlySchema,
  datasetDefaults: {
    'office-home': { epochs: 30 },
    'visda-2017': { epochs: 30 },
    'mini-domainnet': { bottleneckDim: 1024, epochs: 30, itersPerEpoch: 2500 },
    synth: { epochs: 5, itersPerEpoch: 60 },
  },
  train: (data, cfg, rng, hooks) => trainHead(data, { ...cfg, tradeOff: 0 }, rng, hooks),
});
