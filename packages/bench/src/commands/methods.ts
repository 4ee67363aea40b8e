/**
 * `dampl methods [method]`: every registered method with its package, presets and named configs;
 * or one method's keys, each with its type and range, default, doc and the source of the default,
 * then its presets and named configs; named as `method@config`, that config first, each value with
 * its source and the backbone it was released for. With `--dataset` (and `--set`, `--config`, as `bench run`
 * takes them) the config a run would use, each value with where it came from.
 */
import type { CommandModule } from 'yargs';
import { ConfigError, describeField, type FieldSpec } from '@dampl/runtime';
import type { Method, NamedConfig } from '@dampl/core';
import { PLUGIN_OPTION, registerMethods, type GlobalOptions } from './common.js';

interface MethodsArgs extends GlobalOptions {
  method?: string;
  dataset?: string;
  config?: string[];
  set?: string[];
  json: boolean;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v) && v.length > 3) return `[${v.length} items: ${v.slice(0, 2).map(show).join(', ')}, ...]`;
  return JSON.stringify(v);
};

/** One key: its name, what it takes and its default, then its doc and source, indented. */
function fieldLines(key: string, spec: FieldSpec, value?: { value: unknown; from: string }): string[] {
  const out = [`  ${key.padEnd(18)} ${describeField(spec).padEnd(34)} default ${show(spec.default)}`, `      ${spec.doc}`, `      source: ${spec.source}`];
  if (value && JSON.stringify(value.value) !== JSON.stringify(spec.default)) out.push(`      here: ${show(value.value)}, from ${value.from}`);
  return out;
}

/** A named config: its doc, the backbone it was released for, its source, then each value with its own source. */
function namedLines(n: NamedConfig): string[] {
  const out = [`named config ${n.method}@${n.name}: ${n.doc}`,
    `  backbone it was released for: ${n.backbone ?? 'not named by its source'}`, `  source: ${n.source}`,
    `  values (${Object.keys(n.values).length}; every other key keeps the dataset's preset or the default), each with its source:`];
  for (const [k, v] of Object.entries(n.values)) out.push(`  ${k.padEnd(18)} ${show(v)}`, `      source: ${n.sources?.[k] ?? n.source}`);
  return out;
}

async function describeOne(spec: string, a: MethodsArgs): Promise<{ lines: string[]; json: unknown }> {
  const { getMethod, getNamedConfig, listNamedConfigs, explainMethodConfig } = await import('@dampl/core');
  const { parseMethodSpec } = await import('../grid.js');
  const { methodPackage } = await import('../plugins.js');
  const { expandSpecs, parseConfigArgs } = await import('../variants.js');
  const parsed = parseMethodSpec(spec);
  const method = getMethod(parsed.name) as Method<unknown>;
  const [variant] = expandSpecs([parsed], await parseConfigArgs({ config: a.config, set: a.set }));
  const dataset = a.dataset ? (await import('@dampl/data')).getDataset(a.dataset).name : undefined;
  if (!dataset && (a.set?.length || a.config?.length)) throw new ConfigError('--set and --config show the config on a dataset', 'add --dataset, e.g. --dataset synth');
  const explained = dataset ? await explainMethodConfig(method, { dataset, named: parsed.named, layers: variant!.layers }) : undefined;
  const schema = method.configSchema;
  const named = listNamedConfigs(method.name);
  const lines = [`${variant!.label}: ${method.describe}`, `  package: ${methodPackage(method.name) ?? 'registered in code'}`, ''];
  const chosen = parsed.named ? getNamedConfig(method.name, parsed.named) : undefined;
  if (chosen) lines.push(...namedLines(chosen), '');
  lines.push(dataset ? `keys (${Object.keys(schema).length}), with the values on ${dataset} where they differ from the default:` : `keys (${Object.keys(schema).length}):`);
  for (const [k, f] of Object.entries(schema)) lines.push(...fieldLines(k, f, explained?.[k]));
  const presets = Object.entries(method.presets ?? {});
  lines.push('', presets.length ? 'presets, over the defaults on their dataset:' : 'presets: none (every dataset takes the defaults)');
  for (const [d, p] of presets) lines.push(`  ${d}: ${Object.entries(p.values).map(([k, v]) => `${k}=${show(v)}`).join(', ')}`, `      source: ${p.source}`);
  if (named.length) {
    lines.push('', `named configs (--methods ${method.name}@<name>):`);
    for (const n of named) {
      lines.push(`  ${method.name}@${n.name}${n.backbone ? ` (released for ${n.backbone})` : ''}: ${Object.entries(n.values).map(([k, v]) => `${k}=${show(v)}`).join(', ')}`, `      source: ${n.source}`);
    }
  }
  return {
    lines,
    json: {
      name: method.name, label: variant!.label, describe: method.describe, package: methodPackage(method.name) ?? null,
      keys: schema, presets: method.presets ?? {}, named, ...(explained ? { dataset, config: explained } : {}),
    },
  };
}

export const methodsCommand: CommandModule<GlobalOptions, MethodsArgs> = {
  command: 'methods [method]',
  describe: 'list the methods the bench runs; with a method (name or name@config), every key with its default, range, doc and source',
  builder: (y) => y
    .positional('method', { type: 'string', describe: 'a method, e.g. dampl, dann or dampl@full' })
    .option('dataset', { type: 'string', describe: 'show the config on this dataset (its preset applied) and where each value comes from' })
    .option('config', { type: 'string', array: true, describe: 'as bench run: JSON files of method values' })
    .option('set', { type: 'string', array: true, describe: 'as bench run: method.key=value' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .option('plugin', PLUGIN_OPTION) as never,
  handler: async (argv) => {
    await registerMethods(argv);
    if (argv.method) {
      const r = await describeOne(argv.method, argv);
      process.stdout.write(argv.json ? `${JSON.stringify(r.json, null, 2)}\n` : `${r.lines.join('\n')}\n`);
      return;
    }
    if (argv.set?.length || argv.config?.length || argv.dataset) throw new ConfigError('--dataset, --set and --config describe one method', 'name it: dampl methods <method> --dataset synth');
    const { listMethods, listNamedConfigs } = await import('@dampl/core');
    const { methodPackage } = await import('../plugins.js');
    const all = listMethods().map((m) => ({
      name: m.name, describe: m.describe, package: methodPackage(m.name) ?? null, keys: Object.keys(m.configSchema).length,
      presets: Object.keys(m.presets ?? {}), named: listNamedConfigs(m.name).map((n) => `${m.name}@${n.name}`),
    }));
    if (argv.json) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      return;
    }
    const w = Math.max(...all.map((m) => m.name.length));
    const lines = all.map((m) => `${m.name.padEnd(w)}  ${(m.package ?? '').padEnd(18)} ${m.describe}`
      + `\n${' '.repeat(w + 2)}${m.keys} keys; presets: ${m.presets.join(', ') || 'none'}${m.named.length ? `; named configs: ${m.named.join(' ')}` : ''}`);
    process.stdout.write(`${lines.join('\n')}\n\n\`dampl methods <method>\` prints its keys with their defaults, ranges, docs and sources.\n`);
  },
};
