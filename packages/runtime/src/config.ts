/**
 * Typed, validated configurations: the one way this project declares settings (every method's
 * hyper-parameters, the synthetic world's CLIP pre-training).
 *
 * A schema describes each key once: its type, default, range or choices, a one-line doc and the
 * source of the default (a paper, a released config file, or this project's own choice). A
 * configuration is resolved from layers merged in a fixed order, for a method:
 *
 *   schema defaults < dataset preset < named config (e.g. an ablation) < JSON file < --set < --sweep
 *
 * and validated at load: an unknown key is a ConfigError that names the key, the layer it came
 * from and the closest valid key; a wrong type or an out-of-range value names the key, what it
 * must be and what it got. Resolved configs hash stably (sorted-key JSON, sha256) so results
 * can be keyed by config.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/** What every field says of itself: a one-line doc and where its default comes from. */
interface FieldInfo {
  doc: string;
  /** The source of the default: a paper's table, a released config (file and key), or 'this project' with the reason. */
  source: string;
  /**
   * A key added after results were recorded under the schema: while it holds its default it is
   * left out of the config's hash (`hashSchemaConfig`), so those records keep their hash.
   */
  hashOmitsDefault?: true;
}

export type FieldSpec = FieldInfo & (
  | { type: 'number'; default: number; min?: number; max?: number }
  | { type: 'integer'; default: number; min?: number; max?: number }
  | { type: 'boolean'; default: boolean }
  | { type: 'string'; default: string }
  | { type: 'enum'; choices: readonly string[]; default: string }
  | { type: 'string[]'; default: readonly string[]; minItems?: number });

export type ConfigSchema = Readonly<Record<string, FieldSpec>>;

type ValueOf<F> = F extends { type: 'number' | 'integer' } ? number
  : F extends { type: 'boolean' } ? boolean
  : F extends { type: 'enum'; choices: readonly (infer C)[] } ? C
  : F extends { type: 'string[]' } ? string[]
  : string;

/** The config object a schema describes, e.g. `{ lr: number; correction: 'none' | 'curriculum' }`. */
export type ConfigOf<S extends ConfigSchema> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** One source of values, named in error messages ("dataset defaults (visda17)", "file run.json"). */
export interface ConfigLayer {
  source: string;
  values: Readonly<Record<string, unknown>>;
}

/** Declares a schema; checks that every default satisfies its own field and names its source. */
export function defineSchema<const S extends ConfigSchema>(schema: S): S {
  for (const [key, spec] of Object.entries(schema)) {
    checkValue(key, spec, spec.default, 'schema default');
    if (!spec.doc?.trim() || !spec.source?.trim()) throw new ConfigError(`schema key '${key}' needs a doc and the source of its default`);
  }
  return schema;
}

/** The schema's defaults as a config. */
export function schemaDefaults<S extends ConfigSchema>(schema: S): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = copy(spec.default);
  return out as ConfigOf<S>;
}

/**
 * Merges `layers` over the schema defaults, in the order given (later wins), validating every
 * value. Strings given for non-string fields (from `key=value` pairs) are parsed by the field's
 * type. The result is a fresh object; the layers are not modified.
 */
export function resolveConfig<S extends ConfigSchema>(schema: S, layers: readonly ConfigLayer[]): ConfigOf<S> {
  const out = schemaDefaults(schema) as Record<string, unknown>;
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer.values)) {
      const spec = schema[key];
      if (!spec) throw unknownKey(schema, key, layer.source);
      out[key] = checkValue(key, spec, coerce(key, spec, raw, layer.source), layer.source);
    }
  }
  return out as ConfigOf<S>;
}

/** Each key's resolved value and where it came from: the last layer that set it, else the schema default and its source. */
export function resolveWithSources<S extends ConfigSchema>(schema: S, layers: readonly ConfigLayer[]): Record<string, { value: unknown; from: string }> {
  const config = resolveConfig(schema, layers) as Record<string, unknown>;
  const out: Record<string, { value: unknown; from: string }> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const layer = [...layers].reverse().find((l) => key in l.values);
    out[key] = { value: config[key], from: layer ? layer.source : `default: ${spec.source}` };
  }
  return out;
}

/** Validates a config object against its schema: every key known and present, every value valid. */
export function validateConfig<S extends ConfigSchema>(schema: S, config: Readonly<Record<string, unknown>>, source = 'config'): ConfigOf<S> {
  for (const key of Object.keys(config)) if (!schema[key]) throw unknownKey(schema, key, source);
  for (const key of Object.keys(schema)) {
    if (!(key in config)) throw new ConfigError(`${source}: missing key '${key}'`, `add it (default ${JSON.stringify(schema[key]!.default)}) or resolve the config with resolveConfig`);
  }
  return resolveConfig(schema, [{ source, values: config }]);
}

/**
 * Parses `key=value` pairs (command-line overrides) into a layer. Values stay strings here and are
 * parsed by the schema's field type in resolveConfig: numbers, `true`/`false`, and for lists
 * either a JSON array or comma-separated items.
 */
export function parseConfigPairs(pairs: readonly string[], source = 'command line'): ConfigLayer {
  const values: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: '${pair}' is not a key=value pair`, 'write overrides as key=value, e.g. lr=0.003');
    values[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return { source, values };
}

/** Reads a JSON object of config values from a file as a layer. */
export async function loadConfigFile(path: string): Promise<ConfigLayer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${path} cannot be read: ${(e as Error).message}`, 'check the path');
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of key: value pairs`);
  }
  return { source: `file ${path}`, values: values as Record<string, unknown> };
}

/** JSON with object keys sorted at every level: equal configs give equal strings. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** sha256 (hex) of the stable JSON of `value`: a cache key for results. */
export function hashConfig(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

/**
 * The hash of a resolved config of `schema`: `hashConfig` of it without the keys whose field says
 * `hashOmitsDefault` and that hold their default (a key added later leaves earlier hashes as they were).
 */
export function hashSchemaConfig(schema: ConfigSchema, config: unknown): string {
  if (!config || typeof config !== 'object') return hashConfig(config);
  const kept = Object.entries(config as Record<string, unknown>)
    .filter(([k, v]) => !(schema[k]?.hashOmitsDefault && stableStringify(v) === stableStringify(schema[k]!.default)));
  return hashConfig(Object.fromEntries(kept));
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The candidate closest to `name` (case-insensitive match first, then edit distance). */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exact = candidates.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

// ---------------------------------------------------------------------------------------------

function unknownKey(schema: ConfigSchema, key: string, source: string): ConfigError {
  const keys = Object.keys(schema);
  const guess = closest(key, keys);
  return new ConfigError(`unknown config key '${key}' in ${source}`,
    `${guess ? `did you mean '${guess}'? ` : ''}valid keys: ${keys.join(', ')}`);
}

/** What values a field takes, in words: "a number >= 0 and <= 1", "one of 'sgd', 'adam'". */
export function describeField(spec: FieldSpec): string {
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const range = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.max !== undefined ? `<= ${spec.max}` : ''].filter(Boolean).join(' and ');
      return `${spec.type === 'integer' ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
    }
    case 'boolean': return 'true or false';
    case 'string': return 'a string';
    case 'enum': return `one of ${spec.choices.map((c) => `'${c}'`).join(', ')}`;
    case 'string[]': return `a list of strings${spec.minItems ? ` with at least ${spec.minItems} item(s)` : ''}`;
  }
}

function coerce(key: string, spec: FieldSpec, raw: unknown, source: string): unknown {
  if (typeof raw !== 'string') return raw;
  const s = raw.trim();
  switch (spec.type) {
    case 'number':
    case 'integer':
      return s === '' ? raw : Number(s);
    case 'boolean':
      if (s === 'true') return true;
      if (s === 'false') return false;
      return raw;
    case 'string[]':
      if (s.startsWith('[')) {
        try {
          return JSON.parse(s);
        } catch {
          throw new ConfigError(`'${key}' in ${source} looks like a JSON list but does not parse: ${raw}`);
        }
      }
      return s === '' ? [] : s.split(',').map((x) => x.trim());
    default:
      return raw;
  }
}

function checkValue(key: string, spec: FieldSpec, value: unknown, source: string): unknown {
  const bad = () => new ConfigError(`'${key}' in ${source} must be ${describeField(spec)}, got ${JSON.stringify(value)}`, spec.doc);
  switch (spec.type) {
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad();
      if (spec.type === 'integer' && !Number.isInteger(value)) throw bad();
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) throw bad();
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad();
      return value;
    case 'string':
      if (typeof value !== 'string') throw bad();
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.choices.includes(value)) {
        const guess = typeof value === 'string' ? closest(value, spec.choices) : undefined;
        throw new ConfigError(`'${key}' in ${source} must be ${describeField(spec)}, got ${JSON.stringify(value)}`,
          guess ? `did you mean '${guess}'?` : spec.doc);
      }
      return value;
    case 'string[]':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || value.length < (spec.minItems ?? 0)) throw bad();
      return [...value];
  }
}

function copy<T>(v: T): T {
  return (Array.isArray(v) ? [...v] : v) as T;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}
