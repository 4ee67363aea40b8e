/**
 * The OpenAI / open_clip checkpoint layout, which is also this project's canonical naming:
 * `visual.conv1.weight`, `visual.transformer.resblocks.0.attn.in_proj_weight`,
 * `visual.layer1.0.downsample.1.running_var`, `transformer.resblocks.0.mlp.c_fc.weight`,
 * `token_embedding.weight`, `text_projection`, `logit_scale`, ... Every tensor maps to itself.
 *
 * Also defines the rule format both layouts use: a canonical tensor comes from one or more
 * checkpoint tensors, copied, transposed, or concatenated along the first axis.
 */

export type WeightOp = 'copy' | 'transpose' | 'concat';

export interface WeightRule {
  /** Canonical (OpenAI) name. */
  to: string;
  /** Checkpoint tensor names; `concat` stacks them along axis 0 in this order. */
  from: string[];
  op: WeightOp;
}

export interface CheckpointLayout {
  name: 'openai' | 'hf';
  /** The rules for every canonical tensor name of a config. */
  rules(canonicalNames: Iterable<string>): WeightRule[];
  /** Checkpoint entries that are not weights and are skipped (counters, buffers). */
  ignored: RegExp[];
}

/** The shape a rule expects of each of its sources, given the canonical shape. */
export function sourceShape(rule: WeightRule, canonical: readonly number[]): number[] {
  switch (rule.op) {
    case 'copy': return [...canonical];
    case 'transpose': return [...canonical].reverse();
    case 'concat': return [canonical[0]! / rule.from.length, ...canonical.slice(1)];
  }
}

/**
 * OpenAI layout, optionally under a prefix (`module.` in state dicts saved from
 * DistributedDataParallel). `num_batches_tracked` (BatchNorm counters) and the scalars
 * `input_resolution`, `context_length`, `vocab_size` that old checkpoints carry (OpenAI's
 * build_model deletes them too) are skipped.
 */
export function openaiLayout(prefix = ''): CheckpointLayout {
  return {
    name: 'openai',
    rules: (names) => [...names].map((to) => ({ to, from: [prefix + to], op: 'copy' as const })),
    ignored: [/\.num_batches_tracked$/, new RegExp(`^${prefix.replace(/\./g, '\\.')}(input_resolution|context_length|vocab_size)$`)],
  };
}

/** True when tensor names look like an OpenAI / open_clip CLIP state dict; returns its prefix. */
export function detectOpenAIPrefix(names: readonly string[]): string | undefined {
  for (const prefix of ['', 'module.']) {
    if (names.includes(`${prefix}token_embedding.weight`) && names.some((n) => n.startsWith(`${prefix}visual.`))) return prefix;
  }
  return undefined;
}
