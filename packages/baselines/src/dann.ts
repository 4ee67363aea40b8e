/**
 * DANN: domain-adversarial training (Ganin et al., "Domain-Adversarial Training of Neural
 * Networks", JMLR 2016), here on frozen CLIP image features.
 *
 *   f = bottleneck(x)                      Linear(E, 256) - BN - ReLU, [B, 256]
 *   L = CE(classifier(f_s), y_s) + tradeOff * 0.5 * (BCE(D(R(f_s)), 1) + BCE(D(R(f_t)), 0))
 *   D = Linear(256, 1024) - BN - ReLU - Linear(1024, 1024) - BN - ReLU - Linear(1024, 1)
 *   R = gradient reversal with coefficient 2 / (1 + exp(-10 p)) - 1, p = step / steps
 *
 * Inputs: source features [Ns, E] with labels [Ns], target features [Nt, E]; batches of B + B.
 * Hyper-parameters as TLlib's `examples/domain_adaptation/image_classification/dann.py`
 * (the published Office-Home recipe there): SGD lr 0.01, momentum 0.9, weight decay 1e-3,
 * lr_i = lr (1 + 0.001 i)^-0.75, batch 32, 20 epochs of 1000 iterations, bottleneck 256,
 * discriminator width 1024, trade-off 1.
 *
 * @example
 *   const head = fitDann(data, { ...DANN_DEFAULTS, iterations: 500 }, new Rng(0), log);
 *   const probs = head.predict(targetFeatures); // [Nt, K]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Logger, Rng } from '@dampl/runtime';
import { gradientReverse, grlCoefficient } from './modules/grl.js';
import { BatchNorm1d, Linear, ReLU, Sequential } from './modules/nn.js';
import { trainHead, type FeatureData, type FeatureTrainConfig, type TrainedHead } from './modules/feature-train.js';

export interface DannConfig extends FeatureTrainConfig {
  discriminatorWidth: number;
}

export const DANN_DEFAULTS: DannConfig = {
  iterations: 20_000,
  batchSize: 32,
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 1e-3,
  lrGamma: 0.001,
  lrDecay: 0.75,
  bottleneckDim: 256,
  normalize: true,
  tradeOff: 1,
  discriminatorWidth: 1024,
};

/** The domain discriminator of DANN: two hidden layers with BN and ReLU, one logit out. */
export function domainDiscriminator(inDim: number, width: number, rng: Rng): Sequential {
  return new Sequential(
    new Linear(inDim, width, rng), new BatchNorm1d(width), new ReLU(),
    new Linear(width, width, rng), new BatchNorm1d(width), new ReLU(),
    new Linear(width, 1, rng),
  );
}

/** 0.5 (BCE(D(R(f_s)), 1) + BCE(D(R(f_t)), 0)); f_s, f_t [B, d]. */
export function dannDomainLoss(disc: Sequential, fs: tf.Tensor2D, ft: tf.Tensor2D, coeff: number): tf.Scalar {
  return tf.tidy(() => {
    const logits = disc.apply(gradientReverse(tf.concat([fs, ft], 0), coeff), true); // [2B, 1]
    const labels = tf.concat([tf.ones([fs.shape[0], 1]), tf.zeros([ft.shape[0], 1])], 0);
    // mean over the joint batch of equal halves = 0.5 (mean_s + mean_t)
    return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
  });
}

export function fitDann(data: FeatureData, cfg: DannConfig, rng: Rng, log: Logger): TrainedHead {
  const disc = domainDiscriminator(cfg.bottleneckDim, cfg.discriminatorWidth, rng.fork('discriminator'));
  return trainHead(data, cfg, rng, log, {
    layers: [disc],
    loss: (fs, ft, step, total) => dannDomainLoss(disc, fs, ft, grlCoefficient(step, total)),
  });
}
