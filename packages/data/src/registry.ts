/**
 * The dataset registry. The built-in datasets are registered here; another module (the
 * synthetic world, a user's package) calls `registerDataset` and the bench picks it up by name.
 */
import { ConfigError } from '@dampl/runtime';
import { miniDomainNet } from './datasets/mini-domainnet.js';
import { officeHome } from './datasets/office-home.js';
import { visda2017 } from './datasets/visda2017.js';
import type { Dataset } from './dataset.js';

const registry = new Map<string, Dataset>();

function keys(ds: Dataset): string[] {
  return [ds.name, ...(ds.aliases ?? [])].map((k) => k.toLowerCase());
}

/**
 * Adds a dataset. Registering the same object again is a no-op; a different dataset under a
 * name (or alias) already taken is a ConfigError.
 */
export function registerDataset(ds: Dataset): void {
  validateDataset(ds);
  if (registry.get(ds.name.toLowerCase()) === ds) return;
  for (const k of keys(ds)) {
    const other = lookup(k);
    if (other) throw new ConfigError(`the dataset name "${k}" is already taken by ${other.name}`, 'register the dataset under another name');
  }
  registry.set(ds.name.toLowerCase(), ds);
}

function lookup(key: string): Dataset | undefined {
  const k = key.toLowerCase();
  return registry.get(k) ?? [...registry.values()].find((d) => keys(d).includes(k));
}

/** The dataset registered as `name` (or an alias, any case); unknown names list the registered ones. */
export function getDataset(name: string): Dataset {
  const ds = lookup(name.trim());
  if (!ds) {
    throw new ConfigError(`unknown dataset "${name}"`, `registered datasets: ${listDatasets().map((d) => d.name).join(', ') || 'none'}`);
  }
  return ds;
}

/** Registered datasets, in registration order. */
export function listDatasets(): Dataset[] {
  return [...registry.values()];
}

/** Checks that a dataset's tasks, splits and counts refer to its own domains. */
export function validateDataset(ds: Dataset): void {
  const bad = (what: string): never => {
    throw new ConfigError(`dataset ${ds.name || '(unnamed)'}: ${what}`);
  };
  if (!ds.name || ds.name !== ds.name.trim()) bad('needs a name without surrounding spaces');
  if (!ds.domains.length) bad('has no domains');
  if (!ds.classes.length) bad('has no classes');
  if (new Set(ds.classes).size !== ds.classes.length) bad('lists a class twice');
  if (ds.classNames && ds.classNames.length !== ds.classes.length) bad(`has ${ds.classNames.length} class names for ${ds.classes.length} classes`);
  const names = new Set(ds.domains.map((d) => d.name));
  for (const t of ds.tasks) {
    if (!names.has(t.source) || !names.has(t.target)) bad(`task ${t.name} names a domain not in ${[...names].join(', ')}`);
  }
  if (new Set(ds.tasks.map((t) => t.name)).size !== ds.tasks.length) bad('names two tasks alike');
  for (const role of ['trainSource', 'trainTarget', 'testTarget'] as const) {
    const s = ds.splits[role];
    if (s !== 'all' && !ds.splits.names.includes(s)) bad(`splits.${role} is "${s}", not one of ${ds.splits.names.join(', ')}`);
  }
  for (const d of Object.keys(ds.expectedCounts?.counts ?? {})) if (!names.has(d)) bad(`expectedCounts names an unknown domain ${d}`);
}

for (const ds of [officeHome, miniDomainNet, visda2017]) registerDataset(ds);
