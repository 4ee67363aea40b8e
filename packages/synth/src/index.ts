/**
 * The synthetic multi-domain image world: procedurally drawn object classes in photo, clipart,
 * sketch and painting styles, deterministic from a seed, for running the whole pipeline in
 * minutes on a CPU.
 */
export { type SynthDomain, type SynthDomainInfo } from './style-types.js';
export {
  SYNTH_CLASSES, type SynthClass, type SynthAttributes, type SynthImage, type SynthImageOptions, type SynthScene,
  type SizeName, type PositionName,
} from './render.js';
export { type ColourName } from './colour.js';
export { encodePng } from './png.js';
export {
  generateSynthWorld, type SynthSplit, type SynthWorldOptions, type SynthWorldResult, type SynthSplitResult,
  type SynthManifest, type SynthFileEntry, type SynthCaptionRecord,
} from './world.js';
export { type ContactSheetOptions } from './preview.js';

// registers the dataset 'synth' with @dampl/data's registry on import
import './register.js';
