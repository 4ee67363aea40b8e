/**
 * The synthetic multi-domain image world: procedurally drawn object classes in photo, clipart,
 * sketch and painting styles, deterministic from a seed, for running the whole pipeline in
 * minutes on a CPU.
 */
export { SYNTH_DOMAINS, type SynthDomain, type SynthDomainInfo } from './style-types.js';
export {
  SYNTH_CLASSES, DEFAULT_SIZE, DEFAULT_SUPERSAMPLE, renderSynthImage, sampleSynthScene, renderSynthScene,
  type SynthClass, type SynthAttributes, type SynthImage, type SynthImageOptions, type SynthScene, type SizeName, type PositionName,
} from './render.js';
export { COLOUR_NAMES, type ColourName } from './colour.js';
export { synthCaption } from './captions.js';
export { encodePng } from './png.js';
export {
  generateSynthWorld, synthDomainsAndClasses, synthImageSeed, SYNTH_SPLITS, DEFAULT_PER_CLASS, SYNTH_VERSION,
  type SynthSplit, type SynthWorldOptions, type SynthWorldResult, type SynthSplitResult, type SynthManifest,
  type SynthFileEntry, type SynthCaptionRecord,
} from './world.js';
export { synthDataset } from './register.js';
export { contactSheet, type ContactSheetOptions } from './preview.js';
