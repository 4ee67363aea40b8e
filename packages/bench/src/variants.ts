/**
 * Method variants from the command line. Every value is addressed as `method.key`:
 *
 *   --config run.json                 {"dampl": {"lr": 0.002}, "dann": {"epochs": 10}}
 *   --set dampl.lr=0.002              one value (repeatable)
 *   --sweep dampl.mu=0.5,1,2          a grid axis: one variant of the method per value
 *
 * A method's config for a cell is, last wins: schema defaults < dataset preset < named config
 * (`dampl@full`) < --config files in order < --set < --sweep. A method given values is labelled
 * by them, `dampl[lr=0.002,mu=0.5]`: the label names its rows in the tables and is part of the
 * cell key, with the resolved config's hash, so a variant never resumes into another's cells.
 * Several sweeps of one method give the product of their values. A list-valued key takes JSON
 * lists, `--sweep 'dampl.zeroShotTemplates=["a {class}."],["a photo of a {class}."]'`.
 */
import { ConfigError, hashConfig, loadConfigFile, resolveConfig, type ConfigLayer } from '@dampl/runtime';
import { getMethod, resolveMethodConfig } from '@dampl/core';
import type { MethodSpec } from './grid.js';

/** The command line's config options, as given. */
export interface ConfigArgs {
  config?: readonly string[];
  set?: readonly string[];
  sweep?: readonly string[];
}

interface Sweep {
  key: string;
  values: string[];
  arg: string;
}

/** What the options say, by registered method name. */
export interface MethodVariants {
  /** The --config and --set layers of each method, in order. */
  layers: ReadonlyMap<string, ConfigLayer[]>;
  sweeps: ReadonlyMap<string, Sweep[]>;
  /** Methods named by --set or --sweep (a --config file may hold methods a run leaves out). */
  named: ReadonlySet<string>;
}

const EXAMPLE = { set: 'dampl.lr=0.002', sweep: 'dampl.mu=0.5,1,2' } as const;

/** `method.key=value` -> its parts; the method must be registered. */
function address(arg: string, flag: 'set' | 'sweep'): { method: string; key: string; value: string } {
  const eq = arg.indexOf('=');
  const dot = arg.indexOf('.');
  if (eq <= 0 || dot <= 0 || dot > eq || dot === eq - 1) {
    throw new ConfigError(`--${flag} '${arg}' is not method.key=value`, `e.g. --${flag} ${EXAMPLE[flag]}; \`dampl methods <method>\` lists a method's keys`);
  }
  const method = arg.slice(0, dot);
  getMethod(method);
  return { method, key: arg.slice(dot + 1, eq).trim(), value: arg.slice(eq + 1) };
}

/** Splits at the commas outside brackets and quotes: `a,b` -> a, b; `["x","y"],["z"]` -> two lists. */
function splitValues(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}

/** Reads the config files and parses --set and --sweep; methods and files are checked here, keys and values when resolved. */
export async function parseConfigArgs(a: ConfigArgs): Promise<MethodVariants> {
  const layers = new Map<string, ConfigLayer[]>();
  const sweeps = new Map<string, Sweep[]>();
  const named = new Set<string>();
  const add = (method: string, layer: ConfigLayer) => layers.set(method, [...(layers.get(method) ?? []), layer]);
  for (const file of a.config ?? []) {
    const { values } = await loadConfigFile(file);
    for (const [method, v] of Object.entries(values)) {
      getMethod(method);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new ConfigError(`--config ${file}: '${method}' must hold an object of key: value pairs`, `e.g. {"${method}": {"lr": 0.002}}`);
      }
      add(method, { source: `--config ${file} (${method})`, values: v as Record<string, unknown> });
    }
  }
  for (const arg of a.set ?? []) {
    const { method, key, value } = address(arg, 'set');
    add(method, { source: `--set ${arg}`, values: { [key]: value } });
    named.add(method);
  }
  for (const arg of a.sweep ?? []) {
    const { method, key, value } = address(arg, 'sweep');
    const values = splitValues(value);
    if (values.some((v) => v === '')) throw new ConfigError(`--sweep ${arg}: an empty value`, `separate the values by commas, e.g. --sweep ${EXAMPLE.sweep}`);
    if (new Set(values).size !== values.length) throw new ConfigError(`--sweep ${arg}: a value is given twice`);
    const list = sweeps.get(method) ?? [];
    if (list.some((s) => s.key === key)) throw new ConfigError(`--sweep names ${method}.${key} twice`, 'give all its values in one --sweep');
    sweeps.set(method, [...list, { key, values, arg }]);
    named.add(method);
  }
  return { layers, sweeps, named };
}

/** A value as a label shows it: short values as they are, long ones (template lists) by hash. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length <= 24 && !/[[\],=]/.test(s) ? s : `#${hashConfig(v).slice(0, 8)}`;
}

/**
 * The methods of a run with their variants: each spec gets its method's layers, one copy per
 * point of its sweeps, and a label naming the values given. A --set or --sweep of a method the
 * run leaves out is an error; so is a key the method lacks or a value out of its range.
 */
export function expandSpecs(specs: readonly MethodSpec[], v: MethodVariants): MethodSpec[] {
  for (const m of v.named) {
    if (!specs.some((s) => s.name === m)) {
      throw new ConfigError(`--set or --sweep gives values for ${m}, which this run does not run (${specs.map((s) => s.label).join(', ')})`,
        `add ${m} to --methods, or leave its values out`);
    }
  }
  const out: MethodSpec[] = [];
  for (const spec of specs) {
    const schema = getMethod(spec.name).configSchema;
    const base = v.layers.get(spec.name) ?? [];
    const axes = v.sweeps.get(spec.name) ?? [];
    let points: ConfigLayer[][] = [[]];
    for (const axis of axes) {
      points = points.flatMap((p) => axis.values.map((value) => [...p, { source: `--sweep ${axis.arg} (${axis.key}=${value})`, values: { [axis.key]: value } }]));
    }
    for (const point of points) {
      const layers = [...base, ...point];
      if (!layers.length) {
        out.push(spec);
        continue;
      }
      // the values as the schema reads them (2e-3 and 0.002 are one variant), checked against it
      const given = resolveConfig(schema, layers) as Record<string, unknown>;
      const keys = [...new Set(layers.flatMap((l) => Object.keys(l.values)))].sort();
      out.push({ ...spec, label: `${spec.label}[${keys.map((k) => `${k}=${show(given[k])}`).join(',')}]`, layers });
    }
  }
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.label)) throw new ConfigError(`${s.label} comes twice in this run`, 'list each method once in --methods, and give a --sweep values that differ (1 and 1.0 are one value)');
    seen.add(s.label);
  }
  return out;
}

/** Resolves every spec's config on every dataset, so that a bad value stops the run before any work. */
export async function checkSpecs(specs: readonly MethodSpec[], datasets: readonly string[]): Promise<void> {
  for (const s of specs) {
    for (const dataset of datasets) await resolveMethodConfig(getMethod(s.name), { dataset, named: s.named, layers: s.layers });
  }
}
