/**
 * MCC: minimum class confusion (Jin et al., "Minimum Class Confusion for Versatile Domain
 * Adaptation", ECCV 2020), here on frozen CLIP image features.
 *
 *   f = bottleneck(x), g = classifier(f)                               [B, d], [B, K]
 *   P = softmax(g_t / T)                                               [B, K]
 *   w_i = B (1 + exp(-H(P_i))) / sum_j (1 + exp(-H(P_j)))              (no gradient)
 *   C = P^T diag(w) P,   C~_jk = C_jk / sum_l C_lk                      [K, K]
 *   L_MCC = (sum_jk C~_jk - trace C~) / K
 *   L = CE(g_s, y_s) + tradeOff * L_MCC
 *
 * As TLlib tllib/self_training/mcc.py (MinimumClassConfusionLoss). Hyper-parameters: TLlib
 * examples/domain_adaptation/image_classification/mcc.py (SGD Nesterov lr 0.005, momentum 0.9,
 * weight decay 1e-3, lr_i = lr (1 + 0.001 i)^-0.75, batch 36, 20 epochs of 1000 iterations,
 * bottleneck 256, T 2.5, trade-off 1); mcc.sh: Office-Home 30 epochs with bottleneck 2048;
 * VisDA-2017 30 epochs, lr 0.002, T 3.0; DomainNet 30 epochs of 2500 iterations, batch 32,
 * T 2.0, bottleneck 2048, trade-off 10 (used here for mini-DomainNet).
 *
 * @example
 *   const loss = mccLoss(targetLogits, 2.5); // scalar
 */
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient, type Rng } from '@dampl/runtime';
import {
  defineSchema, featureMethod, featureTrainFields, trainHead, type ConfigOf, type FeatureData, type TrainHooks,
} from '@dampl/core';

const MCC_SOURCE = 'TLlib examples/domain_adaptation/image_classification/mcc.py';

export const mccSchema = defineSchema({
  ...featureTrainFields({
    epochs: 20, itersPerEpoch: 1000, batchSize: 36, lr: 0.005, momentum: 0.9, nesterov: true, weightDecay: 1e-3,
    lrGamma: 0.001, lrDecay: 0.75, bottleneckDim: 256, normalize: true, tradeOff: 1,
  }, MCC_SOURCE),
  temperature: { type: 'number', default: 2.5, min: 1e-6, doc: 'T of the rescaled target probabilities', source: `${MCC_SOURCE} --temperature` },
});
export type MccConfig = ConfigOf<typeof mccSchema>;

/** L_MCC of target logits [B, K]. */
export function mccLoss(logits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const [B, K] = logits.shape;
    const p = tf.softmax(tf.div(logits, temperature)) as tf.Tensor2D; // [B, K]
    const H = stopGradient(tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-5))), 1))); // TLlib entropy(), eps 1e-5
    const w0 = tf.add(1, tf.exp(tf.neg(H)));
    const w = tf.reshape(tf.div(tf.mul(w0, B), tf.sum(w0)), [B, 1]);
    const c = tf.matMul(tf.transpose(tf.mul(p, w)), p); // [K, K], symmetric
    const cn = tf.div(c, tf.reshape(tf.sum(c, 1), [1, K])); // column k divided by its sum
    return tf.div(tf.sub(tf.sum(cn), tf.sum(tf.mul(cn, tf.eye(K)))), K) as tf.Scalar;
  });
}

function fitMcc(data: FeatureData, cfg: MccConfig, rng: Rng, hooks: TrainHooks = {}) {
  return trainHead(data, cfg, rng, hooks, { layers: [], loss: ({ logitsT }) => mccLoss(logitsT, cfg.temperature) });
}

export const mcc = featureMethod({
  name: 'mcc',
  describe: 'MCC (Jin et al. 2020): minimum class confusion on target predictions',
  schema: mccSchema,
  presets: {
    'office-home': { values: { epochs: 30, bottleneckDim: 2048 }, source: 'TLlib examples/domain_adaptation/image_classification/mcc.sh (Office-Home: --epochs 30 --bottleneck-dim 2048)' },
    'visda-2017': { values: { epochs: 30, lr: 0.002, temperature: 3.0 }, source: 'TLlib examples/domain_adaptation/image_classification/mcc.sh (VisDA-2017: --epochs 30 --lr 0.002 --temperature 3.0)' },
    'mini-domainnet': { values: { epochs: 30, itersPerEpoch: 2500, batchSize: 32, temperature: 2.0, bottleneckDim: 2048, tradeOff: 10 }, source: 'TLlib examples/domain_adaptation/image_classification/mcc.sh (DomainNet: -i 2500 -b 32 --temperature 2.0 --bottleneck-dim 2048 --trade-off 10)' },
    synth: { values: { epochs: 5, itersPerEpoch: 100, lr: 0.01 }, source: 'this project: a short schedule for the synthetic world' },
  },
  train: (data, cfg: MccConfig, rng, hooks) => fitMcc(data, cfg, rng, hooks),
});
