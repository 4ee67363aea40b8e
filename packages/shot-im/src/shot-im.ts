/**
 * SHOT-IM: source hypothesis transfer with information maximisation (Liang et al., "Do We Really
 * Need to Access the Source Data? Source Hypothesis Transfer for Unsupervised Domain
 * Adaptation", ICML 2020; the variant without pseudo-labels), here on frozen CLIP features.
 *
 * Stage 1, source only: f = bottleneck(x) [B, d], g = classifier(f) [B, K],
 *   L_src = CE_ls(g_s, y_s),  label-smoothed targets (1 - eps) y + eps / K, eps = 0.1
 * Stage 2, target only, classifier (the source hypothesis) frozen, bottleneck trained:
 *   p = softmax(g_t) [B, K],  L_IM = mean_i H(p_i) - H(mean_i p_i)   (core losses.imLoss)
 * BatchNorm runs on target batches in stage 2, so its statistics move to the target.
 *
 * Hyper-parameters: tim-learn/SHOT object/image_source.py and image_target.py: SGD (Nesterov,
 * momentum 0.9, weight decay 1e-3) at lr 0.01 with lr (1 + 10 p)^-0.75 over each stage's progress
 * p, batch 64, bottleneck 256, label smoothing 0.1, 20 source epochs (image_source.py; 50 for
 * Office-Home, and 10 at lr 1e-3 for VisDA-2017, in the authors' scripts; that lr is used for both
 * stages here), 15 target epochs,
 * ent_par 1.0, gent True, epsilon 1e-5, cls_par 0 (SHOT-IM). SHOT's bottleneck is Linear-BN and
 * its classifier weight-normalised; here both stages use the Linear-BN-ReLU bottleneck and plain
 * linear classifier of the other feature-space baselines.
 *
 * @example
 *   const { model } = await fitShotIm(data, schemaDefaults(shotImSchema), new Rng(0));
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@dampl/runtime';
import { defineSchema, imLoss, type ConfigOf } from '@dampl/core';
import {
  BatchSampler, Sgd, deviceFeatures, featureMethod, gatherRows, runEpochs, sgdStep, trainHead,
  type FeatureData, type TrainHooks,
} from '@dampl/core';

const SRC = 'SHOT object/image_source.py';
const TGT = 'SHOT object/image_target.py';

export const shotImSchema = defineSchema({
  sourceEpochs: { type: 'integer', default: 20, min: 1, doc: 'passes over the source in stage 1', source: `${SRC} max_epoch = 20` },
  epochs: { type: 'integer', default: 15, min: 1, doc: 'passes over the target in stage 2', source: `${TGT} max_epoch = 15` },
  batchSize: { type: 'integer', default: 64, min: 2, doc: 'features per step', source: `${TGT} batch_size = 64` },
  lr: { type: 'number', default: 0.01, min: 0, doc: 'learning rate (bottleneck and classifier at 1x)', source: `${TGT} lr = 0.01` },
  lrGamma: { type: 'number', default: 10, min: 0, doc: 'lr (1 + lrGamma p)^-lrDecay, p the stage progress', source: `${TGT} lr_scheduler gamma = 10` },
  lrDecay: { type: 'number', default: 0.75, min: 0, doc: 'the decay power of the learning rate', source: `${TGT} lr_scheduler power = 0.75` },
  momentum: { type: 'number', default: 0.9, min: 0, max: 1, doc: 'SGD momentum', source: `${TGT} op_copy: momentum = 0.9` },
  nesterov: { type: 'boolean', default: true, doc: 'Nesterov momentum', source: `${TGT} op_copy: nesterov = True` },
  weightDecay: { type: 'number', default: 1e-3, min: 0, doc: 'L2 weight decay', source: `${TGT} op_copy: weight_decay = 1e-3` },
  bottleneckDim: { type: 'integer', default: 256, min: 1, doc: 'bottleneck width', source: `${TGT} --bottleneck 256` },
  normalize: { type: 'boolean', default: true, doc: 'L2-normalise the CLIP features first', source: 'this project: CLIP features are compared by cosine' },
  labelSmoothing: { type: 'number', default: 0.1, min: 0, max: 1, doc: 'stage 1 label smoothing', source: `${SRC} --smooth 0.1` },
  imWeight: { type: 'number', default: 1, min: 0, doc: 'weight of the IM loss', source: `${TGT} --ent_par 1.0` },
  imEps: { type: 'number', default: 1e-5, min: 0, doc: 'eps inside the logs', source: `${TGT} --epsilon 1e-5` },
});

export type ShotImConfig = ConfigOf<typeof shotImSchema>;

export async function fitShotIm(data: FeatureData, cfg: ShotImConfig, rng: Rng, hooks: TrainHooks = {}) {
  const { dim } = data;
  const ns = data.sourceLabels.length;
  const nt = data.target.length / dim;
  const perSource = Math.max(1, Math.ceil(ns / cfg.batchSize));
  const perTarget = Math.max(1, Math.ceil(nt / cfg.batchSize));
  const common = {
    batchSize: cfg.batchSize, lr: cfg.lr, lrDecay: cfg.lrDecay, momentum: cfg.momentum, nesterov: cfg.nesterov,
    weightDecay: cfg.weightDecay, bottleneckDim: cfg.bottleneckDim, normalize: cfg.normalize,
  };
  const src = await trainHead(data, {
    ...common, epochs: cfg.sourceEpochs, itersPerEpoch: perSource, lrGamma: cfg.lrGamma / (cfg.sourceEpochs * perSource),
    tradeOff: 0, labelSmoothing: cfg.labelSmoothing,
  }, rng.fork('source'), hooks);
  const { model } = src;
  let target = deviceFeatures(data.target, dim, cfg.normalize);
  const params = model.neck.params();
  const sgd = new Sgd(cfg.momentum, cfg.weightDecay, cfg.nesterov);
  const batches = new BatchSampler(nt, Math.min(cfg.batchSize, nt), rng.fork('target-order'));
  try {
    const last = src.history.at(-1)!;
    const adapt = await runEpochs({ epochs: cfg.epochs, itersPerEpoch: perTarget, lr: cfg.lr, lrGamma: cfg.lrGamma / (cfg.epochs * perTarget), lrDecay: cfg.lrDecay },
      hooks, model, async (i, lr) => {
        if (data.views && i % perTarget === 0) {
          // with views, the adaptation epoch's view of each target row (epochs counted on from the source stage)
          const xt = await data.views('target', cfg.sourceEpochs + i / perTarget + 1);
          target.dispose();
          target = deviceFeatures(xt.data, dim, cfg.normalize);
        }
        const ti = batches.next();
        return sgdStep(params, sgd, lr, () => {
          const { logits } = model.forward(gatherRows(target, ti), true);
          const im = imLoss(tf.softmax(logits), cfg.imEps) as tf.Scalar;
          return { im, total: tf.mul(im, cfg.imWeight) as tf.Scalar };
        }, `at target step ${i + 1}`);
      }, { epoch: last.epoch, step: last.step });
    return { model, history: [...src.history, ...adapt] };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    sgd.dispose();
    target.dispose();
  }
}

export const shotIm = featureMethod({
  name: 'shot-im',
  describe: 'SHOT-IM (Liang et al. 2020): source classifier, then information maximisation on the target',
  schema: shotImSchema,
  presets: {
    'office-home': { values: { sourceEpochs: 50 }, source: "the SHOT authors' kSHOT scripts: image_source.py --dset office-home --max_epoch 50" },
    'visda-2017': { values: { sourceEpochs: 10, lr: 1e-3 }, source: "the SHOT authors' kSHOT scripts: image_source.py --dset visda-2017 --max_epoch 10 --lr 1e-3 (the lr used for both stages here)" },
    synth: { values: { sourceEpochs: 20, epochs: 15 }, source: 'this project: the schema defaults, kept for the synthetic world' },
  },
  train: (data, cfg: ShotImConfig, rng, hooks) => fitShotIm(data, cfg, rng, hooks),
});
