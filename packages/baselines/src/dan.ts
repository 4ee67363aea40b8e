/**
 * DAN: deep adaptation network (Long et al., "Learning Transferable Features with Deep
 * Adaptation Networks", ICML 2015), here on frozen CLIP image features.
 *
 *   f = bottleneck(x)                  Linear(E, 256) - BN - ReLU, [B, 256] (`bottleneck: 'bn-relu'`)
 *                                      or Linear(E, 256) - ReLU - Dropout(0.5) ('relu-dropout', TLlib's DAN)
 *   L = CE(classifier(f_s), y_s) + tradeOff * MK-MMD(f_s, f_t)
 *   MK-MMD with five Gaussian kernels, bandwidths 2^k times the mean squared distance over the
 *   joint batch (TLlib's GaussianKernel), k = -3..1, linear-time estimator (quadratic with
 *   `linear: false`), without TLlib's constant 2/(B-1), which moves no gradient; see modules/mmd.ts.
 *
 * TLlib's dan.py passes source and target through the model separately (`y_s, f_s = model(x_s)`,
 * then x_t); this trainer passes them as one batch. With its bottleneck (no BatchNorm: every layer
 * acts on each row alone) the two are the same computation, so `dan@tllib` (tllib-configs.ts)
 * needs only the bottleneck; today's default keeps the BatchNorm bottleneck the other feature
 * methods share, whose BatchNorm sees both domains.
 *
 * Inputs: source features [Ns, E] with labels [Ns], target features [Nt, E]; batches of B + B.
 * Hyper-parameters: TLlib examples/domain_adaptation/image_classification/dan.py: SGD (Nesterov)
 * lr 0.003, momentum 0.9, weight decay 5e-4, lr_i = lr (1 + 0.0003 i)^-0.75, batch 32, 20 epochs
 * of 500 iterations, bottleneck 256, trade-off 1, linear estimator (--non-linear off), kernels
 * GaussianKernel(alpha = 2^k), k = -3..1; dan.sh: Office-Home and VisDA-2017 20 epochs of 500
 * iterations, DomainNet bottleneck 1024 and 30 epochs of 2500 (used here for mini-DomainNet).
 *
 * @example
 *   const { model } = await fitDan(data, { ...schemaDefaults(danSchema), epochs: 5 }, new Rng(0));
 */
import { ConfigError, type Rng } from '@dampl/runtime';
import {
  BOTTLENECKS, defineSchema, featureMethod, featureTrainFields, trainHead, type ConfigOf, type FeatureData,
  type TrainHooks,
} from '@dampl/core';
import { mkmmd } from './modules/mmd.js';

const DAN_SOURCE = 'TLlib examples/domain_adaptation/image_classification/dan.py';

export const danSchema = defineSchema({
  ...featureTrainFields({
    epochs: 20, itersPerEpoch: 500, batchSize: 32, lr: 0.003, momentum: 0.9, nesterov: true, weightDecay: 5e-4,
    lrGamma: 0.0003, lrDecay: 0.75, bottleneckDim: 256, normalize: true, tradeOff: 1,
  }, DAN_SOURCE),
  bottleneck: {
    type: 'enum', choices: BOTTLENECKS, default: 'bn-relu', hashOmitsDefault: true,
    doc: "the bottleneck after its Linear: 'bn-relu' (BatchNorm, ReLU) or 'relu-dropout' (ReLU, Dropout 0.5, TLlib's DAN)",
    source: "this project: the bottleneck of TLlib's tllib/modules/classifier.py, shared by the feature-space methods; TLlib's DAN (tllib/alignment/dan.py ImageClassifier) is 'relu-dropout', run as dan@tllib",
  },
  linear: { type: 'boolean', default: true, doc: 'linear-time MK-MMD estimator; false: the quadratic one', source: `${DAN_SOURCE} --non-linear (off: linear)` },
  kernelMinExp: { type: 'integer', default: -3, min: -20, max: 20, doc: 'smallest k of the Gaussian bandwidths 2^k x mean squared distance', source: `${DAN_SOURCE}: GaussianKernel(alpha=2 ** k) for k in range(-3, 2)` },
  kernelMaxExp: { type: 'integer', default: 1, min: -20, max: 20, doc: 'largest k of the Gaussian bandwidths', source: `${DAN_SOURCE}: k in range(-3, 2)` },
});
export type DanConfig = ConfigOf<typeof danSchema>;

export function fitDan(data: FeatureData, cfg: DanConfig, rng: Rng, hooks: TrainHooks = {}) {
  if (cfg.kernelMaxExp < cfg.kernelMinExp) {
    throw new ConfigError(`kernelMaxExp (${cfg.kernelMaxExp}) is below kernelMinExp (${cfg.kernelMinExp})`, 'DAN uses k = -3..1');
  }
  const exponents = Array.from({ length: cfg.kernelMaxExp - cfg.kernelMinExp + 1 }, (_, i) => cfg.kernelMinExp + i);
  return trainHead(data, cfg, rng, hooks, {
    layers: [],
    loss: ({ fs, ft }) => mkmmd(fs, ft, { linear: cfg.linear, exponents }),
  });
}

export const dan = featureMethod({
  name: 'dan',
  describe: 'DAN (Long et al. 2015): MK-MMD between bottleneck features of source and target',
  schema: danSchema,
  presets: {
    'mini-domainnet': { values: { bottleneckDim: 1024, epochs: 30, itersPerEpoch: 2500 }, source: 'TLlib examples/domain_adaptation/image_classification/dan.sh (DomainNet: --bottleneck-dim 1024 --epochs 30 -i 2500)' },
    synth: { values: { epochs: 5, itersPerEpoch: 100, lr: 0.01 }, source: 'this project: a short schedule for the synthetic world' },
  },
  train: (data, cfg: DanConfig, rng, hooks) => fitDan(data, cfg, rng, hooks),
});
