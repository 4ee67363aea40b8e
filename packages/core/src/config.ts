/**
 * Named configs: sets of values registered under a name for one method (an ablation, a released
 * configuration), run as `method@name`. The typed schemas themselves live in @dampl/runtime
 * (config.ts) and are re-exported by this package's index.
 */
import { ConfigError, closest, stableStringify } from '@dampl/runtime';

/** A set of values registered under a name for one method, e.g. the ablation 'dapl-equivalent'. */
export interface NamedConfig {
  method: string;
  name: string;
  doc: string;
  /** Where its values come from (a paper, a released config file). */
  source: string;
  values: Readonly<Record<string, unknown>>;
}

const named = new Map<string, NamedConfig>();
const namedKey = (method: string, name: string) => `${method}\u0000${name}`;

export function registerNamedConfig(config: NamedConfig): void {
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

