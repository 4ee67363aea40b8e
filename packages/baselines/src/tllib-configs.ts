/**
 * DAN and DANN as TLlib builds them (thuml/Transfer-Learning-Library,
 * examples/domain_adaptation/image_classification/dan.py and dann.py), as named configs over
 * today's variants, which keep their names (`dan`, `dann`). Core config.ts says how to read a
 * named config (values over the preset, a source for each, the backbone it was released for).
 *
 *   dan@tllib    bottleneck Linear - ReLU - Dropout(0.5): dan.py builds
 *                tllib.alignment.dan.ImageClassifier, whose bottleneck has no BatchNorm. Its
 *                MK-MMD (five GaussianKernel(alpha = 2^k), k = -3..1, track_running_stats,
 *                linear estimator) is the `dan` default already (modules/mmd.ts: TLlib's
 *                bandwidth; its constant 2/(B-1) moves no gradient and is left out); its
 *                separate source and target passes equal the joint one with this bottleneck.
 *   dann@tllib   the gradient reversal warm start of TLlib's DomainAdversarialLoss
 *                (tllib/alignment/dann.py): WarmStartGradientReverseLayer(alpha=1, lo=0, hi=1,
 *                max_iters=1000, auto_step=True), coefficient 2/(1 + exp(-i/1000)) - 1 at
 *                iteration i (0-based: auto_step counts after reading it). dann.py builds
 *                tllib.alignment.dann.ImageClassifier (Linear - BN - ReLU) and passes
 *                torch.cat((x_s, x_t)) in one forward pass: the `dann` defaults already.
 *
 * Every other value (optimiser, schedule, batch, epochs and iterations, bottleneck width,
 * trade-off) is TLlib's already: the schema defaults and the dataset presets (dan.sh, dann.sh)
 * name their source, so the named configs set only what differs and leave the presets for
 * mini-DomainNet (bottleneck 1024, 30 epochs of 2500) in force. TLlib's scripts train ImageNet
 * ResNet-50 (Office-Home) and ResNet-101 (VisDA-2017, DomainNet) backbones end to end; here the
 * frozen CLIP features stand in for the backbone, so `backbone` names TLlib's.
 */
import type { NamedConfig } from '@dampl/core';

const TLLIB = 'TLlib (thuml/Transfer-Learning-Library)';
const BACKBONE = 'ResNet-50 (ImageNet; ResNet-101 for VisDA-2017 and DomainNet)';

const danTllib: NamedConfig = {
  method: 'dan',
  name: 'tllib',
  doc: "DAN as TLlib's dan.py builds it: bottleneck Linear - ReLU - Dropout(0.5), no BatchNorm",
  source: `${TLLIB} examples/domain_adaptation/image_classification/dan.py`,
  backbone: BACKBONE,
  values: { bottleneck: 'relu-dropout' },
  sources: {
    bottleneck: `${TLLIB} tllib/alignment/dan.py ImageClassifier: bottleneck nn.Sequential(nn.Linear(backbone.out_features, bottleneck_dim), nn.ReLU(), nn.Dropout(0.5))`,
  },
};

const dannTllib: NamedConfig = {
  method: 'dann',
  name: 'tllib',
  doc: "DANN as TLlib's dann.py trains it: the gradient reversal warms up as WarmStartGradientReverseLayer(alpha 1, max_iters 1000)",
  source: `${TLLIB} examples/domain_adaptation/image_classification/dann.py, tllib/alignment/dann.py DomainAdversarialLoss`,
  backbone: BACKBONE,
  values: { grlAlpha: 1, grlSteps: 1000 },
  sources: {
    grlAlpha: `${TLLIB} tllib/alignment/dann.py DomainAdversarialLoss: WarmStartGradientReverseLayer(alpha=1., lo=0., hi=1., max_iters=1000, auto_step=True)`,
    grlSteps: `${TLLIB} tllib/alignment/dann.py: max_iters=1000 (tllib/modules/grl.py: coeff = 2 (hi - lo) / (1 + exp(-alpha i / max_iters)) - (hi - lo) + lo)`,
  },
};

export const tllibConfigs: readonly NamedConfig[] = [danTllib, dannTllib];
