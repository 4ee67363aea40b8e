/** Task lists, domain and task look-up by any accepted spelling, class display names. */
import { ConfigError } from '@dampl/runtime';
import type { DomainSpec, Task } from './types.js';

/** The part of a dataset that names its domains and tasks (a `Dataset` or a `DatasetIndex`'s). */
interface DomainsAndTasks {
  name: string;
  domains: readonly DomainSpec[];
  tasks: readonly Task[];
}

/**
 * Every ordered pair of distinct domains, in domain order (A-C, A-P, A-R, C-A, ...), named
 * `<short source><sep><short target>` with `short(domain)` giving the abbreviation.
 */
export function crossDomainTasks(domains: readonly DomainSpec[], short: (d: DomainSpec) => string, sep = '-'): Task[] {
  const tasks: Task[] = [];
  for (const s of domains) {
    for (const t of domains) {
      if (s !== t) tasks.push({ source: s.name, target: t.name, name: `${short(s)}${sep}${short(t)}` });
    }
  }
  return tasks;
}

function spellings(d: DomainSpec): string[] {
  return [d.name, ...d.aliases].map((s) => s.toLowerCase());
}

/** The domain named `name` or one of its aliases (case-insensitive), or undefined. */
function lookupDomain(ds: Pick<DomainsAndTasks, 'domains'>, name: string): DomainSpec | undefined {
  const key = name.trim().toLowerCase();
  return ds.domains.find((d) => spellings(d).includes(key));
}

/** Like lookupDomain, but an unknown name is a ConfigError that lists the domains. */
export function findDomain(ds: Pick<DomainsAndTasks, 'name' | 'domains'>, name: string): DomainSpec {
  const d = lookupDomain(ds, name);
  if (!d) {
    throw new ConfigError(
      `${ds.name} has no domain "${name}"`,
      `use one of: ${ds.domains.map((x) => [x.name, ...x.aliases].join('/')).join(', ')}`,
    );
  }
  return d;
}

/**
 * The task named `name`: its table key ("A-C"), or "<source>-<target>", "<source>-><target>",
 * "<source>→<target>" with any domain spelling ("Art->Clipart", "art→clipart").
 */
export function findTask(ds: DomainsAndTasks, name: string): Task {
  const key = name.trim();
  const exact = ds.tasks.find((t) => t.name === key) ?? ds.tasks.find((t) => t.name.toLowerCase() === key.toLowerCase());
  if (exact) return exact;
  for (const sep of ['→', '->', '-', ':']) {
    const at = key.indexOf(sep);
    if (at <= 0) continue;
    const s = lookupDomain(ds, key.slice(0, at));
    const t = lookupDomain(ds, key.slice(at + sep.length));
    const task = s && t && ds.tasks.find((x) => x.source === s.name && x.target === t.name);
    if (task) return task;
  }
  throw new ConfigError(`${ds.name} has no task "${name}"`, `use one of: ${ds.tasks.map((t) => t.name).join(', ')}`);
}

/** A class identifier as words for a prompt: "Alarm_Clock" -> "Alarm Clock". */
export function classWords(id: string): string {
  return id.replace(/_/g, ' ');
}


/** Sorts by UTF-16 code units, the order of Python's sorted() on folder names (not locale order). */
export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
