export type { ClipConfig, ClipModel, ClipTokenizer, TextConfig, TokenBatch, VisionConfig } from './types.js';
export { loadTokenizer } from './tokenizer.js';
export { BpeTokenizer, readBpeVocab, type BpeVocab } from './bpe.js';
export { writeHfTokenizerFiles, HfTokenizer, hfTokenizerJson } from './hf-tokenizer.js';
export { cleanText, htmlUnescape } from './text-clean.js';
export { buildTokenBatch, SOT_TOKEN, EOT_TOKEN, CONTEXT_LENGTH, BPE_VOCAB_FILE, CLIP_BPE_VOCAB } from './token-batch.js';
export {
  CLIP_MEAN, CLIP_STD, DEFAULT_AUGMENT, DAPL_AUGMENT, clipPreprocess, parsePreprocessorConfig, readPreprocessorConfig, preprocessDescriptor,
  decodeImage, transformImage, loadImage, ImageReadError,
  type PreprocessConfig, type AugmentConfig, type ViewSpec, type Interpolation, type DecodedImage,
} from './preprocess.js';
export { extractFeatures, type ExtractOptions, type FeatureSet, type ImageItem, type ImageEncoder } from './features/extract.js';
export { extractViews, type ViewSet, type ViewSetCost } from './features/views.js';
export {
  FeatureCache, cacheDirFor, identityHash, imageListHash, FEATURES_FILE,
  type FeatureKey, type CacheIdentity, type FeatureManifest, type FeatureRows, type SkippedImage,
} from './features/cache.js';
export { createClip, randomClipWeights, clipWeightShapes, clipVariables, type ClipInit } from './model.js';
export { loadClip, sha256Files, weightsHashOf, type LoadClipOptions } from './load.js';
export { findCachedModel, downloadModel, resolveHubModel, hubCacheDir, xenovaCacheDir, isHubId, HF_MODEL_FILES, type HubOptions } from './hub.js';
export {
  configFromHf, configFromOpenAIKwargs, configFromMetadata, headsFromMetadata, inferConfigFromShapes, normalizeConfig,
  validateConfig, toOpenAIKwargs, defaultTextHeads, defaultVisionHeads, type OpenAIClipKwargs, type HeadOverrides,
} from './config.js';
export { saveClipHf, hfConfigJson, toHfTensors, type SaveHfOptions } from './save.js';
export { trainBpe, type BpeTrainOptions } from './bpe-train.js';
export { clipContrastiveLoss } from './train/contrastive.js';
export { openaiClipInit } from './train/init.js';
export { CLIP_IMAGENET_TEMPLATES } from './templates.js';
