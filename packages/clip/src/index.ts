/**
 * @dampl/clip: CLIP in TensorFlow.js. The ViT and ModifiedResNet image towers and the causal text
 * transformer (with the prompt path prompt learning trains through), loading of Hugging Face and
 * OpenAI checkpoints, the BPE tokenizer, CLIP's preprocessing and augmentations, feature
 * extraction with its on-disk cache, the Hugging Face writer and contrastive training.
 */
export type { ClipConfig, ClipModel, ClipTokenizer, TextConfig, TokenBatch, VisionConfig } from './types.js';
export { BpeTokenizer, readBpeVocab, type BpeVocab } from './bpe.js';
export { writeHfTokenizerFiles } from './hf-tokenizer.js';
export { SOT_TOKEN, EOT_TOKEN, CLIP_BPE_VOCAB } from './token-batch.js';
export {
  DEFAULT_AUGMENT, DAPL_AUGMENT, clipPreprocess, readPreprocessorConfig, loadImage, type PreprocessConfig,
  type AugmentConfig, type ViewSpec, type Interpolation, type DecodedImage,
} from './preprocess.js';
export { extractFeatures, type ExtractOptions, type FeatureSet, type ImageItem, type ImageEncoder } from './features/extract.js';
export { extractViews, type ViewSet, type ViewSetCost } from './features/views.js';
export {
  type FeatureKey, type CacheIdentity, type FeatureManifest, type FeatureRows, type SkippedImage,
} from './features/cache.js';
export { createClip, randomClipWeights, clipVariables, type ClipInit } from './model.js';
export { resnetBlocks } from './resnet.js';
export { loadClip, weightsHashOf, type LoadClipOptions } from './load.js';
export { downloadModel, resolveHubModel, HF_MODEL_FILES, type HubOptions } from './hub.js';
export {
  type OpenAIClipKwargs, type HeadOverrides,
} from './config.js';
export { saveClipHf, type SaveHfOptions } from './save.js';
export { trainBpe, type BpeTrainOptions } from './bpe-train.js';
export { clipContrastiveLoss } from './train/contrastive.js';
export { openaiClipInit } from './train/init.js';
export { CLIP_IMAGENET_TEMPLATES } from './templates.js';
