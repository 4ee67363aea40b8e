/**
 * Captions for the pretraining split: each names the style, the colour and the object, in one
 * of several templates, e.g. "a clipart image of a red car." or "a pencil sketch of a key in
 * black pencil, on lined paper."
 */
import type { Rng } from '@dampl/runtime';
import type { SynthAttributes } from './render.js';
import { SYNTH_DOMAINS } from './style-types.js';

function a(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

type Template = (s: string, at: SynthAttributes) => string;

// the plain first template is listed twice, so it is drawn most often
const OBJECT_TEMPLATES: readonly Template[] = [
  (s, at) => `${s} of ${a(at.colourName)} ${at.className}.`,
  (s, at) => `${s} of ${a(at.colourName)} ${at.className}.`,
  (s, at) => `${s} of ${a(at.sizeName)} ${at.colourName} ${at.className}.`,
  (s, at) => `${s} of ${a(at.colourName)} ${at.className} ${at.backgroundPhrase}.`,
  (s, at) => `${s} showing ${a(at.colourName)} ${at.className}.`,
  (s, at) => `${s} of the ${at.className}, which is ${at.colourName}.`,
  (s, at) => `${a(at.colourName)} ${at.className} in ${s}.`,
];

const SKETCH_TEMPLATES: readonly Template[] = [
  (s, at) => `${s} of ${a(at.className)} in ${at.colourName} pencil.`,
  (s, at) => `${s} of ${a(at.sizeName)} ${at.className} in ${at.colourName} pencil.`,
  (s, at) => `${s} of ${a(at.className)} in ${at.colourName} lines ${at.backgroundPhrase}.`,
  (s, at) => `${a(at.colourName)} ${s.replace(/^an? /, '')} of ${a(at.className)}.`,
];

/** A caption for an image with these attributes; the template and wording come from `rng`. */
export function synthCaption(at: SynthAttributes, rng: Rng): string {
  const info = SYNTH_DOMAINS.find((d) => d.name === at.domain)!;
  const style = rng.pick(info.styleSynonyms);
  const templates = at.domain === 'sketch' ? SKETCH_TEMPLATES : OBJECT_TEMPLATES;
  return rng.pick(templates)(style, at);
}
