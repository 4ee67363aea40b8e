/**
 * The generic image-folder layout `root/<Domain>/<Class>/*.{jpg,jpeg,png,webp}`, used by
 * Office-Home and the synthetic world.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { FormatError } from '@dampl/runtime';
import { DatasetIndex } from './dataset-index.js';
import { isInside, missingPartError, requireRoot } from './paths.js';
import { classWords, codeUnitCompare, crossDomainTasks } from './tasks.js';
import { ALL, type DatasetItem, type DomainSpec, type IndexProblem, type MetricName, type SplitProtocol, type Task } from './types.js';
import type { Dataset, IndexOptions } from './dataset.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFolderOptions extends IndexOptions {
  /** Domains; a domain's folder is the first of its name and aliases that exists under the root. */
  domains: readonly (string | DomainSpec)[];
  /**
   * Class identifiers; a class folder matches its identifier exactly, or else ignoring case.
   * When absent, the classes are the class folders found in any domain, sorted by name.
   */
  classes?: readonly string[];
  classNames?: readonly string[];
  /** Dataset name, title, layout and download, for the index and for error messages. */
  name?: string;
  title?: string;
  layout?: string;
  download?: Dataset['download'];
  /** Default: every ordered pair of domains, named "<source>-<target>". */
  tasks?: readonly Task[];
  /** Default: every image of a domain for every role (ALL). */
  splits?: SplitProtocol;
  metric?: MetricName;
  extensions?: readonly string[];
}

/** Builds the index of an image-folder tree; every item has split ALL. */
export async function imageFolderIndex(root: string, opts: ImageFolderOptions): Promise<DatasetIndex> {
  const domains: DomainSpec[] = opts.domains.map((d) => (typeof d === 'string' ? { name: d, aliases: [] } : d));
  const ds = { name: opts.name ?? 'image-folder', title: opts.title, layout: opts.layout ?? defaultLayout(domains), download: opts.download };
  const absRoot = await requireRoot(ds, root);
  const realRoot = await realpath(absRoot);
  const exts = new Set((opts.extensions ?? IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
  const problems: IndexProblem[] = [];
  const report = (p: IndexProblem): void => {
    if (opts.onProblem === 'collect') problems.push(p);
    else throw new FormatError(p.message, 'run `dampl data check` for a full report of the tree');
  };

  /** A directory entry that is a folder (or file) inside the root, following links that stay inside. */
  const kindOf = async (full: string, ent: Dirent): Promise<'dir' | 'file' | 'other'> => {
    if (ent.isDirectory()) return 'dir';
    if (ent.isFile()) return 'file';
    if (!ent.isSymbolicLink()) return 'other';
    const target = await realpath(full).catch(() => undefined);
    if (!target) return 'other';
    if (!isInside(realRoot, target)) {
      report({ kind: 'escapes-root', path: full, message: `${full} is a symbolic link to ${target}, outside the dataset root ${realRoot}` });
      return 'other';
    }
    const st = await stat(target);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  };
  const list = async (dir: string): Promise<{ name: string; kind: 'dir' | 'file' | 'other' }[]> => {
    const ents = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
    ents.sort((a, b) => codeUnitCompare(a.name, b.name));
    const out = [];
    for (const e of ents) out.push({ name: e.name, kind: await kindOf(path.join(dir, e.name), e) });
    return out;
  };

  const top = await list(absRoot);
  const domainDirs = new Map<string, string>();
  const missing: string[] = [];
  for (const d of domains) {
    const folder = [d.name, ...d.aliases].find((n) => top.some((e) => e.name === n && e.kind === 'dir'));
    if (folder) domainDirs.set(d.name, path.join(absRoot, folder));
    else missing.push(`${d.name} (looked for ${[d.name, ...d.aliases].map((n) => `${n}/`).join(', ')})`);
  }
  if (missing.length) {
    throw missingPartError(ds, root, `no folder for domain${missing.length > 1 ? 's' : ''} ${missing.join('; ')} under ${absRoot}`);
  }

  const classDirs = new Map<string, { name: string; kind: string }[]>();
  for (const [d, dir] of domainDirs) classDirs.set(d, (await list(dir)).filter((e) => e.kind === 'dir'));
  const classes = opts.classes
    ? [...opts.classes]
    : [...new Set([...classDirs.values()].flat().map((e) => e.name))].sort(codeUnitCompare);
  const exact = new Map(classes.map((c, i) => [c, i]));
  const folded = new Map(classes.map((c, i) => [c.toLowerCase(), i]));

  const items: DatasetItem[] = [];
  for (const d of domains) {
    const dir = domainDirs.get(d.name)!;
    for (const c of classDirs.get(d.name)!) {
      const label = exact.get(c.name) ?? folded.get(c.name.toLowerCase());
      const cdir = path.join(dir, c.name);
      if (label === undefined) {
        report({ kind: 'unknown-class', path: cdir, message: `${cdir} is not a class of ${ds.name} (expected one of ${classes.length} class folders, e.g. ${classes.slice(0, 3).join(', ')})` });
        continue;
      }
      for (const f of await list(cdir)) {
        if (f.kind !== 'file' || !exts.has(path.extname(f.name).toLowerCase())) continue;
        items.push({ path: path.join(cdir, f.name), label, domain: d.name, split: ALL });
      }
    }
  }

  return new DatasetIndex({
    dataset: ds.name,
    root: absRoot,
    classes,
    classNames: opts.classNames ? [...opts.classNames] : classes.map(classWords),
    domains,
    tasks: opts.tasks ? [...opts.tasks] : crossDomainTasks(domains, (d) => d.name),
    splits: opts.splits ?? { names: [ALL], trainSource: ALL, trainTarget: ALL, testTarget: ALL },
    metric: opts.metric ?? 'accuracy',
    items,
    problems,
  });
}

function defaultLayout(domains: DomainSpec[]): string {
  return [...domains.map((d) => `${d.name}/<class>/*.jpg`)].join('\n');
}
