/**
 * DAPL: domain adaptation via prompt learning (Ge et al., "Domain Adaptation via Prompt
 * Learning", IEEE TNNLS 2023, arXiv 2202.06687; LeapLabTHU/DAPrompt trainers/dapl.py).
 *
 * Prompts per domain d and class k, with domain-agnostic context v and domain-specific u^d:
 *   prompt_{d,k} = [SOS] v_1..v_M u^d_1..u^d_N <class k> , a <domain d> image.. [EOT]
 *   w_{d,k} = normalise(g(prompt_{d,k})),   p_d(k | x) = softmax_k(s * cos(f(x), w_{d,k}))
 *
 *   L = CE(p_source(. | x^s), y) + U * sum_i m_i CE(p_target(. | x^t_i), yhat_i) / sum_i m_i
 *   yhat_i = argmax_k q_ik,  m_i = [max_k q_ik >= tau],  q = softmax(s * cos(x^t, z) / T)
 *
 * with z the zero-shot text features of "a photo of a {class}." (DAPL's "naive" prompts), fixed
 * for the run. Shapes: x^s [B, E], y [B], x^t [B, E], w [2K, E] (source prompts, then target).
 * Prediction on the target: argmax_k p_target.
 *
 * This is DAMPL (core dampl.ts) with the pseudo-label correction 'none' and the IM weight beta 0,
 * run through DAMPL's own code; the config exposes only DAPL's keys. Its history carries DAMPL's
 * loss terms, so the IM term is reported there although it is not trained (weight 0).
 * Hyper-parameters, DAPL's released configs (core dampl-config.ts has the sources):
 * configs/trainers/DAPL/ep25-32-csc.yaml: N_CTX 16, N_DMX 16, CSC True, T 1.0, TAU 0.5, U 1.0,
 * SGD lr 3e-3, 25 epochs, cosine with 1 linear warm-up epoch from 1e-5, batch 32 + 32; the class
 * text "{class} , a {domain} image.." of trainers/dapl.py (prompt = "X.. {class} , a {domain}
 * image." + "."). The synthetic world takes DAMPL's synth preset (`daplPresets`). Named configs
 * for the published protocols, each value with its source (core released-configs.ts):
 * `dapl@released` (ep25-32-csc, RN101, the scheduler stepped per batch as trainers/dapl.py does),
 * `dapl@rn50` (ep25-32.yaml) and `dapl@pda-vitb16` (DAPL as PDA reruns it with ViT-B/16).
 *
 * @example
 *   const result = await fitMethod(dapl, { ...input, clip, config: methodDefaults(dapl, 'office-home') });
 */
import { ConfigError } from '@dampl/runtime';
import {
  dampl, damplPresets, damplSchema, defineSchema, resolveConfig, validateConfig,
  type ConfigOf, type DamplConfig, type Method, type MethodInput, type MethodResult, type MethodState, type Preset, type RestoreInput,
} from '@dampl/core';

const {
  correction: _correction, lambda0: _l0, lambda1: _l1, lambdaSchedule: _ls, protoIters: _pi, beta: _beta, imEps: _eps,
  classTemplate, ...shared
} = damplSchema;

export const daplSchema = defineSchema({
  ...shared,
  classTemplate: { ...classTemplate, default: '{class} , a {domain} image..', doc: 'text after the learned vectors, with {class} and {domain}', source: "DAPL trainers/dapl.py PromptLearner: prompt 'X.. {class} , a {domain} image.'" },
});

export type DaplConfig = ConfigOf<typeof daplSchema>;

/** DAMPL's fixed settings that make it DAPL. */
const AS_DAPL: Partial<DamplConfig> = { correction: 'none', beta: 0 };

/** The DAMPL config that runs DAPL with `cfg`. */
export function daplAsDampl(cfg: DaplConfig): DamplConfig {
  return resolveConfig(damplSchema, [{ source: 'dapl config', values: cfg }, { source: 'DAPL (correction none, beta 0)', values: AS_DAPL }]);
}

function keepDaplKeys(values: Readonly<Record<string, unknown>>): Partial<DaplConfig> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => k in daplSchema)) as Partial<DaplConfig>;
}

/** DAMPL's presets, cut to DAPL's keys: the two are compared with the same training settings. */
const daplPresets: Readonly<Record<string, Preset<DaplConfig>>> = Object.fromEntries(
  Object.entries(damplPresets).map(([dataset, p]) => [dataset, { values: keepDaplKeys(p.values), source: `DAMPL's preset for ${dataset}: ${p.source}` }]),
);

function asDapl(result: MethodResult, config: DaplConfig): MethodResult {
  return {
    ...result,
    state: async (): Promise<MethodState> => {
      const s = await result.state();
      return { ...s, method: 'dapl', config, meta: { ...s.meta, damplConfig: s.config } };
    },
  };
}

export const dapl: Method<DaplConfig> = {
  name: 'dapl',
  describe: 'DAPL: domain-agnostic and domain-specific prompts, zero-shot pseudo-labels above tau (CLIP)',
  configSchema: daplSchema,

  presets: daplPresets,

  async fit(input: MethodInput<DaplConfig>): Promise<MethodResult> {
    const cfg = validateConfig(daplSchema, input.config as Record<string, unknown>, 'dapl config');
    const result = await dampl.fit({ ...input, config: daplAsDampl(cfg), logger: input.logger?.child('dapl') });
    return asDapl(result, cfg);
  },

  async restore(state: MethodState, input: RestoreInput): Promise<MethodResult> {
    if (state.method !== 'dapl') throw new ConfigError(`a '${state.method}' state cannot be restored by dapl`);
    const cfg = validateConfig(daplSchema, state.config as Record<string, unknown>, 'saved dapl config');
    const result = await dampl.restore!({ ...state, method: 'dampl', config: daplAsDampl(cfg) }, input);
    return asDapl(result, cfg);
  },
};
