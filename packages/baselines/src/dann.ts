/**
 * DANN: domain-adversarial training (Ganin et al., "Domain-Adversarial Training of Neural
 * Networks", JMLR 2016; Ganin & Lempitsky, ICML 2015), here on frozen CLIP image features.
 *
 *   f = bottleneck(x)                      Linear(E, 256) - BN - ReLU, [B, 256]
 *   L = CE(classifier(f_s), y_s) + tradeOff * 0.5 * (BCE(D(R(f_s)), 1) + BCE(D(R(f_t)), 0))
 *   D = Linear(256, 1024) - BN - ReLU - Linear(1024, 1024) - BN - ReLU - Linear(1024, 1)   [2B, 1]
 *   R = gradient reversal (modules/grl.ts), coefficient 2 / (1 + exp(-10 p)) - 1,
 *       p = step / steps (the published schedule; TLlib's warm start, grlAlpha 1 and grlSteps 1000,
 *       is the named config dann@tllib, tllib-configs.ts)
 *
 * Inputs: source features [Ns, E] with labels [Ns], target features [Nt, E]; batches of B + B.
 * Source and target go through D as one batch (BatchNorm sees both), as TLlib's
 * DomainAdversarialLoss (tllib/alignment/dann.py).
 * Hyper-parameters: TLlib examples/domain_adaptation/image_classification/dann.py: SGD
 * (Nesterov) lr 0.01, momentum 0.9, weight decay 1e-3, lr_i = lr (1 + 0.001 i)^-0.75, batch 32,
 * 20 epochs of 1000 iterations, bottleneck 256, discriminator width 1024, trade-off 1; dann.sh:
 * Office-Home and VisDA-2017 30 epochs; DomainNet bottleneck 1024, 30 epochs of 2500 iterations
 * (used here for mini-DomainNet).
 *
 * @example
 *   const { model } = await fitDann(data, { ...schemaDefaults(dannSchema), epochs: 5 }, new Rng(0));
 *   const { probs } = await model.predict(targetFeatures); // [Nt, K]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@dampl/runtime';
import {
  BatchNorm1d, defineSchema, disposeLayer, featureMethod, featureTrainFields, Linear, ReLU, Sequential, trainHead,
  type ConfigOf, type FeatureData, type FeatureTrainConfig, type TrainHooks,
} from '@dampl/core';
import { gradientReverse, grlCoefficient } from './modules/grl.js';

/** The bottleneck-and-classifier recipe of TLlib's dann.py, which source-only and CDAN share. */
export const DANN_RECIPE: FeatureTrainConfig = {
  epochs: 20,
  itersPerEpoch: 1000,
  batchSize: 32,
  lr: 0.01,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 1e-3,
  lrGamma: 0.001,
  lrDecay: 0.75,
  bottleneckDim: 256,
  normalize: true,
  tradeOff: 1,
};
export const DANN_SOURCE = 'TLlib examples/domain_adaptation/image_classification/dann.py';

/** The domain discriminator and gradient-reversal fields of DANN and CDAN. */
export const adversarialFields = {
  discriminatorWidth: { type: 'integer', default: 1024, min: 1, doc: 'hidden width of the domain discriminator', source: 'TLlib tllib/alignment/dann.py DomainDiscriminator hidden_size = 1024' },
  grlAlpha: { type: 'number', default: 10, min: 0, doc: 'alpha of the reversal coefficient 2/(1+exp(-alpha p))-1 (TLlib warm start: 1)', source: 'Ganin et al., JMLR 2016, section 5.2.2: alpha = 10' },
  grlSteps: { type: 'integer', default: 0, min: 0, doc: 'p = step / grlSteps; 0: the whole run (TLlib warm start: 1000)', source: 'Ganin et al., JMLR 2016: p runs from 0 to 1 over the training' },
} as const;

export const dannSchema = defineSchema({ ...featureTrainFields(DANN_RECIPE, DANN_SOURCE), ...adversarialFields });
export type DannConfig = ConfigOf<typeof dannSchema>;

/** The domain discriminator of DANN: two hidden layers with BN and ReLU, one logit out. */
export function domainDiscriminator(inDim: number, width: number, rng: Rng): Sequential {
  return new Sequential(
    new Linear(inDim, width, rng), new BatchNorm1d(width), new ReLU(),
    new Linear(width, width, rng), new BatchNorm1d(width), new ReLU(),
    new Linear(width, 1, rng),
  );
}

/** 0.5 (BCE(D(R(f_s)), 1) + BCE(D(R(f_t)), 0)); f_s, f_t [B, d]. */
function dannDomainLoss(disc: Sequential, fs: tf.Tensor2D, ft: tf.Tensor2D, coeff: number): tf.Scalar {
  return tf.tidy(() => {
    const logits = disc.apply(gradientReverse(tf.concat([fs, ft], 0), coeff), true); // [2B, 1]
    const labels = tf.concat([tf.ones([fs.shape[0], 1]), tf.zeros([ft.shape[0], 1])], 0);
    // the mean over the joint batch of two equal halves is 0.5 (mean_s + mean_t)
    return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
  });
}

export async function fitDann(data: FeatureData, cfg: DannConfig, rng: Rng, hooks: TrainHooks = {}) {
  const disc = domainDiscriminator(cfg.bottleneckDim, cfg.discriminatorWidth, rng.fork('discriminator'));
  try {
    return await trainHead(data, cfg, rng, hooks, {
      layers: [disc],
      loss: ({ fs, ft }, step, total) => dannDomainLoss(disc, fs, ft, grlCoefficient(step, cfg.grlSteps || total, { alpha: cfg.grlAlpha })),
    });
  } finally {
    disposeLayer(disc);
  }
}

export const dann = featureMethod({
  name: 'dann',
  describe: 'DANN (Ganin et al. 2016): domain-adversarial bottleneck on frozen CLIP features',
  schema: dannSchema,
  presets: {
    'office-home': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (Office-Home: --epochs 30)' },
    'visda-2017': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (VisDA-2017: --epochs 30)' },
    'mini-domainnet': { values: { bottleneckDim: 1024, epochs: 30, itersPerEpoch: 2500 }, source: 'TLlib examples/domain_adaptation/image_classification/dann.sh (DomainNet: --bottleneck-dim 1024 --epochs 30 -i 2500)' },
    synth: { values: { epochs: 5, itersPerEpoch: 60, discriminatorWidth: 256 }, source: 'this project: 48-d features and 480 images a domain; a 256-wide discriminator keeps a task to seconds' },
  },
  train: (data, cfg: DannConfig, rng, hooks) => fitDann(data, cfg, rng, hooks),
});
