/**
 * The Hugging Face `CLIPModel` checkpoint layout (transformers' modeling_clip.py), mapped onto
 * the canonical OpenAI names. Hugging Face publishes ViT CLIPs only, so this layout has no
 * ResNet rules. Differences from OpenAI's layout:
 *   - attention has separate q/k/v projections; OpenAI fuses them into in_proj (q | k | v rows),
 *   - the projections are nn.Linear weights [E, W]; OpenAI's are matrices [W, E] (x @ proj),
 *   - `pre_layrnorm` (sic) is ln_pre, `post_layernorm` ln_post, `final_layer_norm` ln_final.
 * `position_ids` buffers, present in older exports, are skipped.
 */
import type { CheckpointLayout, WeightRule } from './openai.js';

/** Canonical name (a regex over it) -> Hugging Face name(s) and the conversion. */
const TABLE: { to: RegExp; from: string[]; op: WeightRule['op'] }[] = [
  { to: /^visual\.conv1\.weight$/, from: ['vision_model.embeddings.patch_embedding.weight'], op: 'copy' },
  { to: /^visual\.class_embedding$/, from: ['vision_model.embeddings.class_embedding'], op: 'copy' },
  { to: /^visual\.positional_embedding$/, from: ['vision_model.embeddings.position_embedding.weight'], op: 'copy' },
  { to: /^visual\.ln_pre\.(weight|bias)$/, from: ['vision_model.pre_layrnorm.$1'], op: 'copy' },
  { to: /^visual\.ln_post\.(weight|bias)$/, from: ['vision_model.post_layernorm.$1'], op: 'copy' },
  { to: /^visual\.proj$/, from: ['visual_projection.weight'], op: 'transpose' },
  { to: /^token_embedding\.weight$/, from: ['text_model.embeddings.token_embedding.weight'], op: 'copy' },
  { to: /^positional_embedding$/, from: ['text_model.embeddings.position_embedding.weight'], op: 'copy' },
  { to: /^ln_final\.(weight|bias)$/, from: ['text_model.final_layer_norm.$1'], op: 'copy' },
  { to: /^text_projection$/, from: ['text_projection.weight'], op: 'transpose' },
  { to: /^logit_scale$/, from: ['logit_scale'], op: 'copy' },
  // residual blocks of both towers: $1 = tower prefix, $2 = block index
  ...blockRules(),
];

function blockRules(): typeof TABLE {
  const tower = '^(visual\\.transformer|transformer)\\.resblocks\\.(\\d+)\\.';
  const hf = '{tower}.encoder.layers.$2.';
  const rule = (to: string, from: string[], op: WeightRule['op'] = 'copy') => ({
    to: new RegExp(tower + to.replace(/\./g, '\\.') + '$'),
    from: from.map((f) => hf + f),
    op,
  });
  return [
    rule('attn.in_proj_weight', ['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight'], 'concat'),
    rule('attn.in_proj_bias', ['self_attn.q_proj.bias', 'self_attn.k_proj.bias', 'self_attn.v_proj.bias'], 'concat'),
    rule('attn.out_proj.weight', ['self_attn.out_proj.weight']),
    rule('attn.out_proj.bias', ['self_attn.out_proj.bias']),
    rule('ln_1.weight', ['layer_norm1.weight']),
    rule('ln_1.bias', ['layer_norm1.bias']),
    rule('mlp.c_fc.weight', ['mlp.fc1.weight']),
    rule('mlp.c_fc.bias', ['mlp.fc1.bias']),
    rule('mlp.c_proj.weight', ['mlp.fc2.weight']),
    rule('mlp.c_proj.bias', ['mlp.fc2.bias']),
    rule('ln_2.weight', ['layer_norm2.weight']),
    rule('ln_2.bias', ['layer_norm2.bias']),
  ];
}

/** The Hugging Face name(s) a canonical tensor comes from; undefined if the layout has none. */
export function hfRule(to: string): WeightRule | undefined {
  for (const r of TABLE) {
    const m = r.to.exec(to);
    if (!m) continue;
    const towerName = m[1] === 'visual.transformer' ? 'vision_model' : 'text_model';
    const from = r.from.map((f) => f.replace('{tower}', towerName).replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? ''));
    return { to, from, op: r.op };
  }
  return undefined;
}

export const hfLayout: CheckpointLayout = {
  name: 'hf',
  rules(names) {
    return [...names].map((to) => {
      const r = hfRule(to);
      if (!r) throw new Error(`the Hugging Face layout has no tensor for canonical '${to}' (Hugging Face CLIPs are ViTs only)`);
      return r;
    });
  },
  ignored: [/(^|\.)position_ids$/],
};

/** True when tensor names look like a Hugging Face CLIPModel checkpoint. */
export function isHfLayout(names: readonly string[]): boolean {
  return names.some((n) => n.startsWith('vision_model.') || n.startsWith('text_model.'));
}
