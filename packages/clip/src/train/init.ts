/**
 * OpenAI CLIP's initialisation for training from scratch (clip/model.py `initialize_parameters`
 * for the text side and the embeddings; PyTorch's layer defaults for the image tower's blocks):
 *   token_embedding N(0, 0.02), text positional_embedding N(0, 0.01);
 *   text blocks: in_proj N(0, W^-1/2), out_proj and c_proj N(0, W^-1/2 (2L)^-1/2), c_fc N(0, (2W)^-1/2);
 *   text_projection N(0, W^-1/2); ViT class/positional embeddings and proj: W^-1/2 N(0, 1);
 *   ViT blocks: in_proj Xavier-uniform, linear weights and the patch kernel U(+-1/sqrt(fan_in));
 *   attention biases 0, other linear biases U(+-1/sqrt(fan_in)); LayerNorm 1 and 0;
 *   logit_scale ln(1/0.07).
 * A small CLIP leaves its initial plateau much sooner from this than from a flat N(0, 0.02).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@dampl/runtime';
import { clipWeightShapes } from '../model.js';
import type { ClipConfig } from '../types.js';

export function openaiClipInit(config: ClipConfig, rng: Rng): Map<string, tf.Tensor> {
  if (config.vision.kind !== 'vit') throw new Error('openaiClipInit: ViT image towers only');
  const tw = config.text.width;
  const vw = config.vision.width;
  const tl = config.text.layers;
  const normal = (shape: number[], std: number) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape);
  const uniform = (shape: number[], bound: number) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-bound, bound)), shape);
  const fanIn = (shape: number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Map<string, tf.Tensor>();
  for (const [name, shape] of clipWeightShapes(config)) {
    let t: tf.Tensor;
    const visual = name.startsWith('visual.');
    if (name === 'logit_scale') t = tf.scalar(Math.log(1 / 0.07));
    else if (/ln_\w+\.weight$/.test(name)) t = tf.ones(shape);
    else if (/ln_\w+\.bias$/.test(name) || /attn\.(in_proj_bias|out_proj\.bias)$/.test(name)) t = tf.zeros(shape);
    else if (name === 'token_embedding.weight') t = normal(shape, 0.02);
    else if (name === 'positional_embedding') t = normal(shape, 0.01);
    else if (name === 'text_projection') t = normal(shape, tw ** -0.5);
    else if (/^visual\.(class_embedding|positional_embedding|proj)$/.test(name)) t = normal(shape, vw ** -0.5);
    else if (!visual && name.endsWith('attn.in_proj_weight')) t = normal(shape, tw ** -0.5);
    else if (!visual && /(attn\.out_proj|mlp\.c_proj)\.weight$/.test(name)) t = normal(shape, tw ** -0.5 * (2 * tl) ** -0.5);
    else if (!visual && name.endsWith('mlp.c_fc.weight')) t = normal(shape, (2 * tw) ** -0.5);
    else if (visual && name.endsWith('attn.in_proj_weight')) t = uniform(shape, Math.sqrt(6 / (shape[0]! / 3 + shape[1]!)));
    else if (name.endsWith('.bias')) t = uniform(shape, 1 / Math.sqrt(vw * (name.includes('c_proj') ? 4 : 1)));
    else t = uniform(shape, 1 / Math.sqrt(fanIn(shape)));
    out.set(name, t);
  }
  return out;
}
