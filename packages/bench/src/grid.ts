/**
 * The grid of a bench run: one cell per (method, config, model, backend family, dataset, task,
 * seed), its stable key (the name of the cell's run record), the filters of the command line and
 * the split of the grid into shards. The backend family is part of a cell's identity because
 * backends round differently: a run on webgpu does not take a cell computed on wasm as done.
 */
import { createHash } from 'node:crypto';
import { ConfigError, type BackendFamily, type ConfigLayer } from '@dampl/runtime';
import { getMethod, getNamedConfig, hashSchemaConfig, listMethods, resolveMethodConfig, stableStringify } from '@dampl/core';
import { findTask, getDataset, type Task } from '@dampl/data';

export { parseShard, shardOf, inShard, type Shard } from './shard.js';

export interface Cell {
  suite: string;
  /** As listed: the registered name, `name@config` for a named config, `name[key=value,...]` with values from the command line. */
  method: string;
  /** Model as given, workspace-relative when it is a path inside the workspace. */
  model: string;
  /** The family of the backend that computes it (tensorflow, webgpu, wasm/cpu). */
  backend: BackendFamily;
  dataset: string;
  task: string;
  seed: number;
  config: unknown;
  configHash: string;
  /** Stable identity of the cell: hex digest of (method, config hash, model, backend family, dataset, task, seed). */
  key: string;
}

/** A method to run: its registered name, an optional named config and the command line's values (variants.ts). */
export interface MethodSpec {
  /** Its name in the tables and the cell key: `dampl`, `dampl@full`, `dampl[mu=0.5]`. */
  label: string;
  name: string;
  named?: string;
  /** --config, --set and --sweep values over the named config. */
  layers?: readonly ConfigLayer[];
}

/** The registered method of a label: `dampl` of `dampl`, `dampl@full` and `dampl[mu=0.5]`. */
export function baseMethodName(label: string): string {
  return label.split(/[@[]/)[0]!;
}

/** Parses `name` or `name@config` and checks the method is registered. */
export function parseMethodSpec(spec: string): MethodSpec {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const named = at < 0 ? undefined : spec.slice(at + 1);
  getMethod(name);
  if (named) getNamedConfig(name, named);
  return named ? { label: `${name}@${named}`, name, named } : { label: name, name };
}

/** Every registered method, in registration order, or the ones named. */
export function methodSpecs(names?: readonly string[]): MethodSpec[] {
  if (names?.length) return [...new Set(names)].map(parseMethodSpec);
  const all = listMethods().map((m) => ({ label: m.name, name: m.name }));
  if (!all.length) throw new ConfigError('no method is registered', 'import @dampl/core and @dampl/baselines, or a package that registers methods');
  return all;
}

export function cellKey(c: Pick<Cell, 'method' | 'configHash' | 'model' | 'backend' | 'dataset' | 'task' | 'seed'>): string {
  const id = { method: c.method, configHash: c.configHash, model: c.model, backend: c.backend, dataset: c.dataset, task: c.task, seed: c.seed };
  return createHash('sha256').update(stableStringify(id)).digest('hex').slice(0, 24);
}

/** The tasks of a dataset, or those of `filter` it has (any spelling findTask accepts). */
function selectTasks(dataset: string, filter?: readonly string[]): Task[] {
  const ds = getDataset(dataset);
  if (!filter?.length) return [...ds.tasks];
  const out: Task[] = [];
  for (const f of filter) {
    let t: Task;
    try {
      t = findTask(ds, f);
    } catch {
      continue;
    }
    if (!out.includes(t)) out.push(t);
  }
  return ds.tasks.filter((t) => out.includes(t));
}

export interface GridInput {
  suite: string;
  model: string;
  backend: BackendFamily;
  datasets: readonly string[];
  methods: readonly MethodSpec[];
  tasks?: readonly string[];
  seeds: readonly number[];
  /** Config values over each method's resolved config, by registered method name; validated by its schema. */
  overrides?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The suite's values for every method whose schema has the key (under the command line's), with where they come from. */
  suiteValues?: { source: string; values: Readonly<Record<string, unknown>> };
}

/**
 * All cells, ordered dataset, seed, task, method: a run cut short has whole tables for its
 * first seeds. An unknown task filter (matching no dataset) is an error.
 */
export async function buildGrid(g: GridInput): Promise<Cell[]> {
  const cells: Cell[] = [];
  let matched = 0;
  for (const name of Object.keys(g.overrides ?? {})) getMethod(name); // a misspelt method is an error, with a suggestion
  for (const dataset of g.datasets) {
    const tasks = selectTasks(dataset, g.tasks);
    matched += tasks.length;
    const configs = new Map<string, { config: unknown; configHash: string }>();
    for (const m of g.methods) {
      const method = getMethod(m.name);
      const own = g.suiteValues && Object.fromEntries(Object.entries(g.suiteValues.values).filter(([k]) => k in method.configSchema));
      const layers = own && Object.keys(own).length ? [{ source: g.suiteValues!.source, values: own }, ...(m.layers ?? [])] : m.layers;
      const config = await resolveMethodConfig(method, { dataset, named: m.named, overrides: g.overrides?.[m.name], layers });
      configs.set(m.label, { config, configHash: hashSchemaConfig(method.configSchema, config) });
    }
    for (const seed of g.seeds) {
      for (const task of tasks) {
        for (const m of g.methods) {
          const { config, configHash } = configs.get(m.label)!;
          const base = { suite: g.suite, method: m.label, model: g.model, backend: g.backend, dataset, task: task.name, seed, config, configHash };
          cells.push({ ...base, key: cellKey(base) });
        }
      }
    }
  }
  if (g.tasks?.length && g.datasets.length && !matched) {
    throw new ConfigError(`no dataset of this run has the task(s) ${g.tasks.join(', ')}`,
      `tasks: ${g.datasets.map((d) => `${d}: ${getDataset(d).tasks.map((t) => t.name).join(' ')}`).join('; ')}`);
  }
  return cells;
}
