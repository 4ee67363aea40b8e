import templatesFile from './data/imagenet-templates.json' with { type: 'json' };

/**
 * CLIP's 80 ImageNet prompt templates for zero-shot ensembles, with '{class}' for the class name
 * (data/imagenet-templates.json names the source).
 */
export const CLIP_IMAGENET_TEMPLATES: readonly string[] = Object.freeze([...templatesFile.templates]);
