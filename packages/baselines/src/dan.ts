/**
 * DAN: deep adaptation network (Long et al., "Learning Transferable Features with Deep
 * Adaptation Networks", ICML 2015), here on frozen CLIP image features.
 *
 *   f = bottleneck(x)                  Linear(E, 256) - BN - ReLU, [B, 256]
 *   L = CE(classifier(f_s), y_s) + tradeOff * MK-MMD(f_s, f_t)
 *   MK-MMD with five Gaussian kernels, bandwidths 2^k times the mean pairwise squared distance,
 *   k = -3..1, linear-time estimator (quadratic as the option `linear: false`); see modules/mmd.ts.
 *
 * Inputs: source features [Ns, E] with labels [Ns], target features [Nt, E]; batches of B + B.
 * Hyper-parameters as TLlib's `examples/domain_adaptation/image_classification/dan.py`:
 * SGD lr 0.003, momentum 0.9, weight decay 5e-4, lr_i = lr (1 + 0.0003 i)^-0.75, batch 32,
 * 20 epochs of 500 iterations, bottleneck 256, trade-off 1, linear estimator.
 *
 * @example
 *   const head = fitDan(data, { ...DAN_DEFAULTS, iterations: 500 }, new Rng(0), log);
 */
import type { Logger, Rng } from '@dampl/runtime';
import { mkmmd } from './modules/mmd.js';
import { trainHead, type FeatureData, type FeatureTrainConfig, type TrainedHead } from './modules/feature-train.js';

export interface DanConfig extends FeatureTrainConfig {
  linear: boolean;
  kernelExponents: number[];
}

export const DAN_DEFAULTS: DanConfig = {
  iterations: 10_000,
  batchSize: 32,
  lr: 0.003,
  momentum: 0.9,
  weightDecay: 5e-4,
  lrGamma: 0.0003,
  lrDecay: 0.75,
  bottleneckDim: 256,
  normalize: true,
  tradeOff: 1,
  linear: true,
  kernelExponents: [-3, -2, -1, 0, 1],
};

export function fitDan(data: FeatureData, cfg: DanConfig, rng: Rng, log: Logger): TrainedHead {
  return trainHead(data, cfg, rng, log, {
    layers: [],
    loss: (fs, ft) => mkmmd(fs, ft, { linear: cfg.linear, exponents: cfg.kernelExponents }),
  });
}
