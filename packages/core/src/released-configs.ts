/**
 * Named configs that reproduce a published protocol, each value with its source and each config
 * with the backbone it was released for (core config.ts says how to read them):
 *
 *   dapl@released     DAPL's released trainer as it runs: configs/trainers/DAPL/ep25-32-csc.yaml
 *                     (RN101, VisDA-2017) with the scheduler stepped after every batch, because
 *                     LeapLabTHU/DAPrompt trainers/dapl.py calls self.update_lr() at the end of
 *                     forward_backward: the one warm-up epoch lasts one batch, and the cosine
 *                     with T_max = MAX_EPOCH = 25 repeats every 50 batches.
 *   dapl@rn50         configs/trainers/DAPL/ep25-32.yaml: the same recipe with CSC False and
 *                     backbone RN50 (the README's RN50 rows), same trainer.
 *   dapl@pda-vitb16   DAPL as PDA reruns it for its ViT-B/16 table (Bai et al., "Prompt-based
 *                     Distribution Alignment for Unsupervised Domain Adaptation", AAAI 2024;
 *                     BaiShuanghao/Prompt-based-Distribution-Alignment): configs/trainers/DAPL/
 *                     b32_ep10_officehome.yaml and b32_ep10_visda.yaml (equal in every training
 *                     value): 10 epochs, one constant warm-up epoch at 1e-5, CSC False; its
 *                     trainers/da/dapl.py steps the scheduler once per epoch (after the last
 *                     batch) and words the prompt '{class} , a {domain} image.' (one full stop).
 *                     Its scripts/dapl/main_dapl.sh passes no seed, so train.py's default seed 2
 *                     runs, once per task.
 *   dampl@paper       what the DAMPL paper states (Ding & Yang, "Unsupervised Domain Adaptation
 *                     Image Classification Based on CLIP", Computer Systems & Applications 2026,
 *                     35(1):141-151; its abstract): domain-specific prompt learning on CLIP,
 *                     pseudo-labels corrected by semantic guidance, the IM loss. The abstract
 *                     gives no hyper-parameter and no backbone; every other value is inherited
 *                     from the schema defaults (DAPL's ep25-32-csc.yaml and Dassl's defaults).
 *
 * `dampl@ep25-32-csc` and `dapl@ep25-32-csc` (dampl-config.ts releasedRecipe) stay as they are:
 * the recipe the yaml describes, stepped per epoch.
 */
import type { NamedConfig } from './config.js';
import { damplSchema, releasedRecipe } from './dampl-config.js';

const DAPL_TRAINER = 'DAPL trainers/dapl.py';
const EP25_32 = 'DAPL configs/trainers/DAPL/ep25-32.yaml';
const PDA = 'PDA (BaiShuanghao/Prompt-based-Distribution-Alignment)';
const PDA_YAML = `${PDA} configs/trainers/DAPL/b32_ep10_officehome.yaml, b32_ep10_visda.yaml`;
const DASSL = 'Dassl dassl/config/defaults.py';
const DAMPL_PAPER = 'DAMPL paper (Ding & Yang, Computer Systems & Applications 35(1), abstract)';

type Entry = readonly [key: string, value: unknown, source: string];

function fromEntries(entries: readonly Entry[]): Pick<NamedConfig, 'values' | 'sources'> {
  return {
    values: Object.fromEntries(entries.map(([k, v]) => [k, v])),
    sources: Object.fromEntries(entries.map(([k, , s]) => [k, s])),
  };
}

/** DAPL's class text after the learned vectors in its released trainer: "X.. {class} , a {domain} image." + ".". */
const DAPL_CLASS_TEMPLATE = '{class} , a {domain} image..';

/** ep25-32-csc.yaml as DAPL's trainer runs it: the recipe, its class text, stepped per batch. */
function daplReleased(): NamedConfig {
  const recipe = releasedRecipe('dapl');
  return {
    method: 'dapl',
    name: 'released',
    doc: "DAPL's released trainer as it runs: ep25-32-csc.yaml with the scheduler stepped after every batch (warm-up one batch, cosine period 50 batches)",
    source: `${recipe.source}; ${DAPL_TRAINER}`,
    backbone: 'RN101',
    values: { ...recipe.values, classTemplate: DAPL_CLASS_TEMPLATE, lrStepPer: 'batch' },
    sources: {
      ...recipe.sources,
      classTemplate: `${DAPL_TRAINER} PromptLearner: prompt 'X.. {class} , a {domain} image.' + '.'`,
      lrStepPer: `${DAPL_TRAINER} forward_backward calls self.update_lr() after every batch, so Dassl's scheduler (warm-up, then CosineAnnealingLR with T_max = MAX_EPOCH) advances per batch`,
    },
  };
}

/** ep25-32.yaml: CSC False, RN50; otherwise as ep25-32-csc (same values, same trainer). */
function daplRn50(): NamedConfig {
  const released = daplReleased();
  const entries: Entry[] = [
    ['nCtx', 16, `${EP25_32} TRAINER.DAPL.N_CTX`],
    ['nDomainCtx', 16, `${EP25_32} TRAINER.DAPL.N_DMX`],
    ['csc', false, `${EP25_32} TRAINER.DAPL.CSC`],
    ['temperature', 1.0, `${EP25_32} TRAINER.DAPL.T`],
    ['tau', 0.5, `${EP25_32} TRAINER.DAPL.TAU`],
    ['mu', 1.0, `${EP25_32} TRAINER.DAPL.U`],
    ['optimizer', 'sgd', `${EP25_32} OPTIM.NAME`],
    ['lr', 3e-3, `${EP25_32} OPTIM.LR`],
    ['epochs', 25, `${EP25_32} OPTIM.MAX_EPOCH`],
    ['lrSchedule', 'cosine', `${EP25_32} OPTIM.LR_SCHEDULER`],
    ['warmupEpochs', 1, `${EP25_32} OPTIM.WARMUP_EPOCH`],
    ['warmupType', 'linear', `${EP25_32} OPTIM.WARMUP_TYPE`],
    ['warmupLr', 1e-5, `${EP25_32} OPTIM.WARMUP_MIN_LR`],
    ['batchSource', 32, `${EP25_32} DATALOADER.TRAIN_X.BATCH_SIZE`],
    ['batchTarget', 32, `${EP25_32} DATALOADER.TRAIN_U.BATCH_SIZE`],
  ];
  const own = fromEntries(entries);
  return {
    method: 'dapl',
    name: 'rn50',
    doc: "DAPL's released ep25-32.yaml (shared context, CSC False) as its trainer runs it, stepped per batch",
    source: `${EP25_32}, with ${DASSL} and ${DAPL_TRAINER} for what it leaves out`,
    backbone: 'RN50',
    values: { ...released.values, ...own.values },
    sources: { ...released.sources, ...own.sources },
  };
}

/** DAPL as PDA reruns it with ViT-B/16 (b32_ep10_*.yaml, PDA's trainers/da/dapl.py). */
function daplPda(): NamedConfig {
  const entries: Entry[] = [
    ['nCtx', 16, `${PDA_YAML} TRAINER.DAPL.N_CTX`],
    ['nDomainCtx', 16, `${PDA_YAML} TRAINER.DAPL.N_DMX`],
    ['csc', false, `${PDA_YAML} TRAINER.DAPL.CSC`],
    ['temperature', 1.0, `${PDA_YAML} TRAINER.DAPL.T`],
    ['tau', 0.5, `${PDA_YAML} TRAINER.DAPL.TAU`],
    ['mu', 1.0, `${PDA_YAML} TRAINER.DAPL.U`],
    ['optimizer', 'sgd', `${PDA_YAML} OPTIM.NAME`],
    ['lr', 3e-3, `${PDA_YAML} OPTIM.LR`],
    ['momentum', 0.9, `${DASSL} OPTIM.MOMENTUM (the yaml leaves it out)`],
    ['weightDecay', 5e-4, `${DASSL} OPTIM.WEIGHT_DECAY (the yaml leaves it out)`],
    ['epochs', 10, `${PDA_YAML} OPTIM.MAX_EPOCH`],
    ['lrSchedule', 'cosine', `${PDA_YAML} OPTIM.LR_SCHEDULER`],
    ['warmupEpochs', 1, `${PDA_YAML} OPTIM.WARMUP_EPOCH`],
    ['warmupType', 'constant', `${PDA_YAML} OPTIM.WARMUP_TYPE`],
    ['warmupLr', 1e-5, `${PDA_YAML} OPTIM.WARMUP_CONS_LR`],
    ['lrStepPer', 'epoch', `${PDA} trainers/da/dapl.py forward_backward: update_lr() when batch_idx + 1 == num_batches, once per epoch`],
    ['batchSource', 32, `${PDA_YAML} DATALOADER.TRAIN_X.BATCH_SIZE`],
    ['batchTarget', 32, `${PDA_YAML} DATALOADER.TRAIN_U.BATCH_SIZE`],
    ['countIter', 'source', `${DASSL} TRAIN.COUNT_ITER = train_x`],
    ['classTemplate', '{class} , a {domain} image.', `${PDA} trainers/da/dapl.py PromptLearner: prompt 'X.. {class} , a {domain} image.'`],
    ['zeroShotTemplates', ['a photo of a {class}.'], `${PDA} trainers/da/dapl.py: naive prompts 'a photo of a {}.'`],
  ];
  return {
    method: 'dapl',
    name: 'pda-vitb16',
    doc: 'DAPL as PDA (AAAI 2024) reruns it for its ViT-B/16 table: 10 epochs, constant warm-up, shared context, stepped per epoch',
    source: `${PDA_YAML}; Bai et al., "Prompt-based Distribution Alignment for Unsupervised Domain Adaptation", AAAI 2024`,
    backbone: 'ViT-B/16',
    ...fromEntries(entries),
  };
}

/** What the DAMPL paper's abstract states, the rest inherited (the schema defaults). */
function damplPaper(): NamedConfig {
  const entries: Entry[] = [
    ['nDomainCtx', damplSchema.nDomainCtx.default, `${DAMPL_PAPER}: 'a prompt learning paradigm for domain characteristics' (domain-specific context); the count is inherited: ${damplSchema.nDomainCtx.source}`],
    ['correction', damplSchema.correction.default, `${DAMPL_PAPER}: 'the pseudo-labelling of the target domains are corrected via a semantic bootstrapping mechanism'; the form is this project's (pseudo.ts), the abstract gives no formula`],
    ['beta', damplSchema.beta.default, `${DAMPL_PAPER}: 'mutual information maximization loss (IML) is also introduced'; its weight is not stated, inherited: ${damplSchema.beta.source}`],
  ];
  return {
    method: 'dampl',
    name: 'paper',
    doc: "what the DAMPL paper states: domain-specific prompts, corrected pseudo-labels, the IM loss; the abstract states no hyper-parameter or backbone, so every value is inherited (DAPL's ep25-32-csc.yaml, Dassl, SHOT)",
    source: `${DAMPL_PAPER}; every key it does not state keeps the schema default and that default's source`,
    ...fromEntries(entries),
  };
}

/** The named configs of this file, for registration (core index). */
export function releasedConfigs(): NamedConfig[] {
  return [daplReleased(), daplRn50(), daplPda(), damplPaper()];
}
