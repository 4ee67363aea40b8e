/**
 * CDAN: conditional domain adversarial network (Long et al., "Conditional Adversarial Domain
 * Adaptation", NeurIPS 2018), here on frozen CLIP image features.
 *
 *   f = bottleneck(x) [B, d],   g = softmax(classifier(f)) [B, K] (no gradient through g)
 *   h = T(f, g):  f (x) g flattened [B, K d]  (multilinear map), or with `randomized`
 *                 (f R_f) * (g R_g) / sqrt(r), R_f [d, r], R_g [K, r] fixed N(0, 1)   [B, r]
 *   L = CE(g_s, y_s) + tradeOff * mean_i w_i BCE(D(R(h_i)), domain_i)      over the 2B samples
 *   D = Linear(in, 1024) - BN - ReLU - Linear(1024, 1024) - BN - ReLU - Linear(1024, 1)
 *   R = gradient reversal with DANN's schedule (dann.ts); w_i = 1, or with entropy conditioning
 *       (CDAN+E) w_i = 1 + exp(-H(g_i)) normalised to mean 1 over the batch
 *
 * As TLlib tllib/alignment/cdan.py (ConditionalDomainAdversarialLoss, MultiLinearMap,
 * RandomizedMultiLinearMap). Hyper-parameters: TLlib examples/domain_adaptation/image_classification/
 * cdan.py (SGD Nesterov lr 0.01, momentum 0.9, weight decay 1e-3, lr_i = lr (1 + 0.001 i)^-0.75,
 * batch 32, 20 epochs of 1000 iterations, bottleneck 256, trade-off 1, no randomisation, no
 * entropy conditioning); cdan.sh: Office-Home and VisDA-2017 30 epochs, DomainNet bottleneck 1024,
 * randomized with r = 51200, 30 epochs of 2500 iterations (used here for mini-DomainNet).
 *
 * @example
 *   const { model } = await fitCdan(data, { ...schemaDefaults(cdanSchema), epochs: 5 }, new Rng(0));
 */
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient, type Rng } from '@dampl/runtime';
import {
  defineSchema, disposeLayer, featureMethod, featureTrainFields, trainHead, type ConfigOf, type FeatureData,
  type TrainHooks,
} from '@dampl/core';
import { DANN_RECIPE, adversarialFields, domainDiscriminator } from './dann.js';
import { gradientReverse, grlCoefficient } from './modules/grl.js';


const CDAN_SOURCE = 'TLlib examples/domain_adaptation/image_classification/cdan.py';

export const cdanSchema = defineSchema({
  ...featureTrainFields(DANN_RECIPE, CDAN_SOURCE),
  ...adversarialFields,
  randomized: { type: 'boolean', default: false, doc: 'randomized multilinear map (cdan.sh uses it for DomainNet)', source: `${CDAN_SOURCE} -r (off)` },
  randomizedDim: { type: 'integer', default: 1024, min: 1, doc: 'r of the randomized map', source: `${CDAN_SOURCE} -rd = 1024` },
  entropyConditioning: { type: 'boolean', default: false, doc: 'CDAN+E: weight samples by 1 + exp(-entropy)', source: `${CDAN_SOURCE} --entropy (off)` },
});
export type CdanConfig = ConfigOf<typeof cdanSchema>;

/** The conditioning map T(f, g) of CDAN. f [B, d], g [B, K] -> [B, K d] or [B, r]. */
export function multilinearMap(f: tf.Tensor2D, g: tf.Tensor2D, random?: { rf: tf.Tensor2D; rg: tf.Tensor2D }): tf.Tensor2D {
  return tf.tidy(() => {
    if (random) return tf.div(tf.mul(tf.matMul(f, random.rf), tf.matMul(g, random.rg)), Math.sqrt(random.rf.shape[1])) as tf.Tensor2D;
    const [B, d] = f.shape;
    const K = g.shape[1];
    return tf.reshape(tf.mul(tf.expandDims(g, 2), tf.expandDims(f, 1)), [B, K * d]); // (B, K, d) -> (B, K d)
  });
}

async function fitCdan(data: FeatureData, cfg: CdanConfig, rng: Rng, hooks: TrainHooks = {}) {
  const K = data.numClasses;
  const inDim = cfg.randomized ? cfg.randomizedDim : cfg.bottleneckDim * K;
  const disc = domainDiscriminator(inDim, cfg.discriminatorWidth, rng.fork('discriminator'));
  const r = rng.fork('randomized');
  const random = cfg.randomized
    ? {
      rf: tf.tensor2d(r.normalArray(cfg.bottleneckDim * cfg.randomizedDim), [cfg.bottleneckDim, cfg.randomizedDim]),
      rg: tf.tensor2d(r.normalArray(K * cfg.randomizedDim), [K, cfg.randomizedDim]),
    }
    : undefined;
  try {
    return await trainHead(data, cfg, rng, hooks, {
      layers: [disc],
      loss: ({ fs, ft, logitsS, logitsT }, step, total) => {
        const f = tf.concat([fs, ft], 0);
        const g = stopGradient(tf.softmax(tf.concat([logitsS, logitsT], 0))) as tf.Tensor2D;
        const h = gradientReverse(multilinearMap(f, g, random), grlCoefficient(step, cfg.grlSteps || total, { alpha: cfg.grlAlpha }));
        const d = disc.apply(h, true); // [2B, 1]
        const B = fs.shape[0];
        const labels = tf.concat([tf.ones([B, 1]), tf.zeros([ft.shape[0], 1])], 0);
        if (!cfg.entropyConditioning) return tf.losses.sigmoidCrossEntropy(labels, d) as tf.Scalar;
        const H = tf.neg(tf.sum(tf.mul(g, tf.log(tf.add(g, 1e-5))), 1)); // TLlib entropy(), eps 1e-5
        const w = tf.add(1, tf.exp(tf.neg(H)));
        const wn = tf.reshape(tf.mul(tf.div(w, tf.sum(w)), w.shape[0]), [-1, 1]);
        return tf.losses.sigmoidCrossEntropy(labels, d, wn, undefined, tf.Reduction.MEAN) as tf.Scalar;
      },
    });
  } finally {
    disposeLayer(disc);
    if (random) tf.dispose([random.rf, random.rg]);
  }
}

export const cdan = featureMethod({
  name: 'cdan',
  describe: 'CDAN (Long et al. 2018): adversarial alignment conditioned on the classifier\'s predictions',
  schema: cdanSchema,
  presets: {
    'office-home': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/cdan.sh (Office-Home: --epochs 30)' },
    'visda-2017': { values: { epochs: 30 }, source: 'TLlib examples/domain_adaptation/image_classification/cdan.sh (VisDA-2017: --epochs 30)' },
    'mini-domainnet': { values: { bottleneckDim: 1024, randomized: true, randomizedDim: 51200, epochs: 30, itersPerEpoch: 2500 }, source: 'TLlib examples/domain_adaptation/image_classification/cdan.sh (DomainNet: -r -rd 51200 --bottleneck-dim 1024)' },
    synth: { values: { epochs: 5, itersPerEpoch: 50, randomized: true, randomizedDim: 256, discriminatorWidth: 256 }, source: 'this project: 48-d features and 480 images a domain; narrower maps keep a task to seconds' },
  },
  train: (data, cfg: CdanConfig, rng, hooks) => fitCdan(data, cfg, rng, hooks),
});
