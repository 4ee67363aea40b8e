export { clipReferenceDir, CLIP_REFERENCE_SOURCE, SLIM_CHECKPOINTS, fullTensors, slimTensors, referenceTokenIds } from './reference.js';
