/**
 * DAMPL's ablations as named configs of the method 'dampl': each adds one component to the base.
 *
 *   base             correction 'none', beta 0: DAPL's objective (zero-shot pseudo-labels, no IM) on
 *                    DAMPL's prompts and template (DAPL's own config, `dapl`, has DAPL's template)
 *   +correction      the semantic-guided correction (default 'curriculum+prototype'), no IM
 *   +im              zero-shot pseudo-labels plus the IM loss
 *   full             correction and IM: DAMPL
 *
 * and, to measure the parts of the correction (pseudo.ts), DAMPL with each other correction:
 * 'full:curriculum', 'full:prototype'; and DAMPL with its pseudo-labels seeded by the single
 * template "a photo of a {class}." (DAPL's) where the dataset's defaults seed them by a template
 * ensemble (synth): 'full:single-template'.
 *
 * Apart from these keys each runs with the same settings (the dataset's defaults: pseudo-label
 * seed, optimiser, epochs), so differences measure the components.
 */
import { registerNamedConfig, type NamedConfig } from './config.js';
import { damplSchema } from './dampl-config.js';

const correction = damplSchema.correction.default;
const beta = damplSchema.beta.default;
const source = "this project: DAMPL's components one at a time (the DAMPL paper reports its own ablation table, Computer Systems & Applications 35(1))";

const damplAblations: readonly NamedConfig[] = [
  { method: 'dampl', name: 'base', doc: "DAMPL's prompts with DAPL's objective: zero-shot pseudo-labels, no IM loss", source, values: { correction: 'none', beta: 0 } },
  { method: 'dampl', name: '+correction', doc: 'the base plus the semantic-guided pseudo-label correction', source, values: { correction, beta: 0 } },
  { method: 'dampl', name: '+im', doc: 'the base plus the IM loss', source, values: { correction: 'none', beta } },
  { method: 'dampl', name: 'full', doc: 'DAMPL: correction and IM loss', source, values: { correction, beta } },
  { method: 'dampl', name: 'full:curriculum', doc: 'DAMPL with the curriculum blend anchored on zero-shot (no prototypes)', source, values: { correction: 'curriculum', beta } },
  { method: 'dampl', name: 'full:prototype', doc: 'DAMPL with text-seeded prototypes only (no curriculum)', source, values: { correction: 'prototype', beta } },
  { method: 'dampl', name: 'full:single-template', doc: 'DAMPL with pseudo-labels seeded by "a photo of a {class}." alone', source, values: { correction, beta, zeroShotTemplates: ['a photo of a {class}.'] } },
];

export function registerDamplAblations(): void {
  for (const c of damplAblations) registerNamedConfig(c);
}
