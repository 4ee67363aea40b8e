/**
 * Named configs: sets of values registered under a name for one method (an ablation, a released
 * configuration), run as `method@name`. The typed schemas themselves live in @dampl/runtime
 * (config.ts) and are re-exported by this package's index.
 */
import { ConfigError, closest, stableStringify } from '@dampl/runtime';

/**
 * A set of values registered under a name for one method, e.g. the ablation 'base' or
 * DAPL's released recipe 'released'.
 *
 * How to read one: `values` are the keys it sets over the dataset's preset (every other key keeps
 * the preset or the schema default); `sources[key]` says where that value comes from (a released
 * config file and its key, a trainer's code, a paper), and a key without an entry there takes
 * `source`, the config's own; `backbone`, where present, is the image backbone the values were
 * released or published for, as the source names it ('RN101', 'RN50', 'ViT-B/16' for CLIP's,
 * 'ResNet-50' for an ImageNet one): a run on another model still takes the values, and the tables
 * say that the config was released for another backbone. Absent: the source names none.
 */
export interface NamedConfig {
  method: string;
  name: string;
  doc: string;
  /** Where its values come from (a paper, a released config file). */
  source: string;
  values: Readonly<Record<string, unknown>>;
  /** The backbone the values were released for, e.g. 'RN101', 'RN50', 'ViT-B/16'. */
  backbone?: string;
  /** The source of each value, by key; keys not listed take `source`. */
  sources?: Readonly<Record<string, string>>;
}

/** Where the value of `key` in a named config comes from: its own source, else the config's. */
export function namedValueSource(config: NamedConfig, key: string): string {
  return config.sources?.[key] ?? config.source;
}

const named = new Map<string, NamedConfig>();
const namedKey = (method: string, name: string) => `${method}\u0000${name}`;

export function registerNamedConfig(config: NamedConfig): void {
  for (const k of Object.keys(config.sources ?? {})) {
    if (!(k in config.values)) {
      throw new ConfigError(`named config ${config.method}@${config.name} gives a source for '${k}', which it does not set`, `set '${k}' in its values or drop its source`);
    }
  }
  if (config.backbone !== undefined && !config.backbone.trim()) {
    throw new ConfigError(`named config ${config.method}@${config.name} has an empty backbone`, "name it as its source does (e.g. 'RN101', 'ViT-B/16') or leave it out");
  }
  const key = namedKey(config.method, config.name);
  const existing = named.get(key);
  if (existing && existing !== config && stableStringify(existing) !== stableStringify(config)) {
    throw new ConfigError(`a different config named '${config.name}' is already registered for method '${config.method}'`, 'choose another name');
  }
  named.set(key, config);
}

export function getNamedConfig(method: string, name: string): NamedConfig {
  const found = named.get(namedKey(method, name));
  if (found) return found;
  const names = listNamedConfigs(method).map((c) => c.name);
  const guess = closest(name, names);
  throw new ConfigError(`no config named '${name}' for method '${method}'`,
    names.length ? `${guess ? `did you mean '${guess}'? ` : ''}named configs of ${method}: ${names.join(', ')}` : `method '${method}' has no named configs`);
}

export function listNamedConfigs(method: string): NamedConfig[] {
  return [...named.values()].filter((c) => c.method === method);
}

