/**
 * `checkDataset`: is a dataset tree complete and sound? It compares the image counts with the
 * published sizes, and reports list lines pointing to absent files, images that do not decode,
 * files with the same content, and paths (list lines or symbolic links) that leave the root.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { Rng, progress, silentLogger, type Logger } from '@dampl/runtime';
import type { DatasetIndex } from './dataset-index.js';
import { isInside } from './paths.js';
import { forEachLimit } from './pool.js';
import type { DatasetItem, IndexProblem } from './types.js';
import type { Dataset } from './dataset.js';

export interface CheckOptions {
  /** Decode-check at most this many images, drawn with `seed`; default: every image. */
  sample?: number;
  seed?: number;
  /** Decode every pixel (catches truncated files) instead of reading the header only. */
  deep?: boolean;
  /** Look for files with the same content (default true). */
  hash?: boolean;
  /** Report duplicates without counting them as problems. */
  allowDuplicates?: boolean;
  /** Files handled at once (default 16). */
  concurrency?: number;
  progress?: 'bar' | 'lines' | 'off';
  logger?: Logger;
}

export interface FileRef {
  path: string;
  /** "list-file:line" for list-based datasets. */
  listed?: string;
}

export interface CountRow {
  domain: string;
  split: string;
  found: number;
  expected?: number;
  status: 'ok' | 'mismatch' | 'no-reference';
}

export interface DuplicateGroup {
  sha256: string;
  size: number;
  files: { path: string; domain: string; label: number }[];
  /** True when the copies carry different labels. */
  conflicting: boolean;
}

export interface CheckReport {
  dataset: string;
  title: string;
  root: string;
  ok: boolean;
  /** Number of problems; non-zero makes `dampl data check` fail. */
  problemCount: number;
  counts: CountRow[];
  countsSource?: string;
  /** Images per class for every domain and split (indices into `classes`). */
  classCounts: { domain: string; split: string; counts: number[] }[];
  classes: string[];
  /** Classes with no image in a domain and split (a warning). */
  emptyClasses: { domain: string; split: string; classes: string[] }[];
  missing: FileRef[];
  unreadable: (FileRef & { error: string })[];
  duplicates: DuplicateGroup[];
  duplicatesAllowed: boolean;
  escapes: (FileRef & { reason: string })[];
  /** Malformed lines, unknown classes, contradicting labels. */
  listProblems: IndexProblem[];
  images: { total: number; checked: number; sampled: boolean; deep: boolean };
  hashed: number;
  notes: string[];
}

const listedOf = (root: string, it: DatasetItem): string | undefined =>
  it.listed ? `${path.relative(root, it.listed.file)}:${it.listed.line}` : undefined;

/** Checks the tree of `ds` under `root`; throws only when the root or its lists cannot be read at all. */
export async function checkDataset(ds: Dataset, root: string, opts: CheckOptions = {}): Promise<CheckReport> {
  const log = opts.logger ?? silentLogger;
  const mode = opts.progress;
  const limit = opts.concurrency ?? 16;
  const index: DatasetIndex = await ds.index(root, { onProblem: 'collect' });
  const realRoot = await realpath(index.root);
  const ref = (it: DatasetItem): FileRef => {
    const listed = listedOf(index.root, it);
    return listed ? { path: it.path, listed } : { path: it.path };
  };

  const escapes: CheckReport['escapes'] = [];
  const listProblems: IndexProblem[] = [];
  for (const p of index.problems) {
    if (p.kind === 'escapes-root') {
      const listed = p.file ? `${path.relative(index.root, p.file)}:${p.line}` : undefined;
      const reason = listed && p.message.startsWith(`${listed}: `) ? p.message.slice(listed.length + 2) : p.message;
      escapes.push({ path: p.path ?? '', reason, ...(listed ? { listed } : {}) });
    } else listProblems.push(p);
  }

  // Existence, containment after resolving links, size.
  const missing: FileRef[] = [];
  const unreadable: CheckReport['unreadable'] = [];
  const present: { it: DatasetItem; size: number }[] = [];
  const files = progress({ total: index.items.length, title: `${ds.name}: files`, unit: 'file', mode });
  const found: ({ it: DatasetItem; size: number } | undefined)[] = new Array(index.items.length);
  await forEachLimit(index.items, limit, async (it, i) => {
    try {
      const real = await realpath(it.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
        throw e;
      });
      if (real === undefined) {
        missing.push(ref(it));
      } else if (!isInside(realRoot, real)) {
        escapes.push({ ...ref(it), reason: `a symbolic link resolves to ${real}, outside the dataset root ${realRoot}` });
      } else {
        const st = await stat(real);
        if (st.isFile()) found[i] = { it, size: st.size };
        else unreadable.push({ ...ref(it), error: 'not a regular file' });
      }
    } catch (e) {
      unreadable.push({ ...ref(it), error: (e as Error).message });
    }
    files.tick();
  });
  files.stop();
  for (const f of found) if (f) present.push(f);

  // Decoding.
  let toDecode = present;
  const sampled = opts.sample !== undefined && opts.sample < present.length;
  if (sampled) {
    const order = new Rng(opts.seed ?? 0).fork('check-sample').permutation(present.length).slice(0, Math.max(0, opts.sample!));
    toDecode = order.sort((a, b) => a - b).map((i) => present[i]!);
  }
  const decoding = progress({ total: toDecode.length, title: `${ds.name}: images`, unit: 'img', mode });
  await forEachLimit(toDecode, Math.min(limit, 8), async ({ it }) => {
    const error = await decodeError(it.path, !!opts.deep);
    if (error) unreadable.push({ ...ref(it), error });
    decoding.tick();
  });
  decoding.stop();

  // Duplicates: only files sharing a size are hashed.
  const duplicates: DuplicateGroup[] = [];
  let hashed = 0;
  if (opts.hash !== false) {
    const bySize = new Map<number, { it: DatasetItem; size: number }[]>();
    for (const f of present) {
      const g = bySize.get(f.size);
      if (g) g.push(f);
      else bySize.set(f.size, [f]);
    }
    const candidates = [...bySize.values()].filter((g) => g.length > 1).flat();
    const hashing = progress({ total: candidates.length, title: `${ds.name}: duplicates`, unit: 'file', mode });
    const byHash = new Map<string, { it: DatasetItem; size: number }[]>();
    await forEachLimit(candidates, limit, async (f) => {
      const h = await sha256File(f.it.path).catch(() => undefined);
      if (!h) return hashing.tick();
      const g = byHash.get(h);
      if (g) g.push(f);
      else byHash.set(h, [f]);
      hashed++;
      hashing.tick();
    });
    hashing.stop();
    for (const [sha256, group] of byHash) {
      if (group.length < 2) continue;
      group.sort((a, b) => (a.it.path < b.it.path ? -1 : 1));
      duplicates.push({
        sha256,
        size: group[0]!.size,
        files: group.map((g) => ({ path: g.it.path, domain: g.it.domain, label: g.it.label })),
        conflicting: new Set(group.map((g) => g.it.label)).size > 1,
      });
    }
    duplicates.sort((a, b) => (a.files[0]!.path < b.files[0]!.path ? -1 : 1));
  }

  // Counts.
  const counts: CountRow[] = index.counts().map(({ domain, split, count }) => {
    const expected = ds.expectedCounts?.counts[domain]?.[split];
    return expected === undefined
      ? { domain, split, found: count, status: 'no-reference' as const }
      : { domain, split, found: count, expected, status: count === expected ? ('ok' as const) : ('mismatch' as const) };
  });
  const classes = [...index.classes];
  const classCounts = index.counts().filter((c) => c.count > 0).map(({ domain, split }) => ({ domain, split, counts: index.classCounts(domain, split) }));
  const emptyClasses = classCounts
    .map(({ domain, split, counts: c }) => ({ domain, split, classes: c.flatMap((n, k) => (n === 0 ? [classes[k]!] : [])) }))
    .filter((e) => e.classes.length > 0);

  // List order when the entries come from list files, else path order.
  const byPath = (a: FileRef, b: FileRef): number =>
    (a.listed ?? a.path).localeCompare(b.listed ?? b.path, 'en', { numeric: true }) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  missing.sort(byPath);
  unreadable.sort(byPath);
  escapes.sort(byPath);

  const mismatches = counts.filter((c) => c.status === 'mismatch').length;
  const problemCount =
    missing.length + unreadable.length + escapes.length + listProblems.length + mismatches + (opts.allowDuplicates ? 0 : duplicates.length);
  const notes = [...index.notes];
  if (!ds.expectedCounts) notes.push(`no published image counts are recorded for ${ds.title ?? ds.name}; the counts are shown without a reference`);
  log.debug(`checked ${index.items.length} items of ${ds.name}: ${problemCount} problems`);

  return {
    dataset: ds.name,
    title: ds.title ?? ds.name,
    root: index.root,
    ok: problemCount === 0,
    problemCount,
    counts,
    ...(ds.expectedCounts ? { countsSource: ds.expectedCounts.source } : {}),
    classCounts,
    classes,
    emptyClasses,
    missing,
    unreadable,
    duplicates,
    duplicatesAllowed: !!opts.allowDuplicates,
    escapes,
    listProblems,
    images: { total: present.length, checked: toDecode.length, sampled, deep: !!opts.deep },
    hashed,
    notes,
  };
}

/** Why an image cannot be read, or undefined when it can. */
async function decodeError(file: string, deep: boolean): Promise<string | undefined> {
  try {
    if (deep) {
      await sharp(file).raw().toBuffer();
      return undefined;
    }
    const m = await sharp(file).metadata();
    if (!m.width || !m.height) return `no image size in the header (format ${m.format ?? 'unknown'})`;
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The report as text for a terminal: a summary line, the counts, then each kind of problem. */
export function formatCheckReport(r: CheckReport, opts: { limit?: number } = {}): string {
  const limit = opts.limit ?? 20;
  const out: string[] = [];
  const rel = (p: string): string => (isInside(r.root, p) ? path.relative(r.root, p) : p);
  const more = (n: number): void => {
    if (n > limit) out.push(`  ... and ${n - limit} more`);
  };
  out.push(`${r.title} at ${r.root}: ${r.ok ? 'no problems found' : `${r.problemCount} problem${r.problemCount === 1 ? '' : 's'} found`}`);

  out.push('', `counts${r.countsSource ? ` (published: ${r.countsSource})` : ' (no published reference)'}`);
  const w = Math.max(6, ...r.counts.map((c) => c.domain.length));
  out.push(`  ${'domain'.padEnd(w)}  ${'split'.padEnd(6)}  ${'found'.padStart(7)}  ${'expected'.padStart(8)}`);
  for (const c of r.counts) {
    const status = c.status === 'ok' ? 'ok' : c.status === 'mismatch' ? `MISMATCH (${c.found - c.expected! > 0 ? '+' : ''}${c.found - c.expected!})` : '';
    out.push(`  ${c.domain.padEnd(w)}  ${c.split.padEnd(6)}  ${String(c.found).padStart(7)}  ${(c.expected === undefined ? '-' : String(c.expected)).padStart(8)}  ${status}`.trimEnd());
  }
  for (const e of r.emptyClasses) {
    out.push(`  warning: ${e.domain}/${e.split} has no image of ${e.classes.length} class${e.classes.length === 1 ? '' : 'es'}: ${e.classes.slice(0, 8).join(', ')}${e.classes.length > 8 ? ', ...' : ''}`);
  }

  const section = <T>(title: string, list: T[], line: (x: T) => string, count = String(list.length)): void => {
    if (!list.length) return;
    out.push('', `${title} (${count})`);
    for (const x of list.slice(0, limit)) out.push(`  ${line(x)}`);
    more(list.length);
  };
  const where = (f: FileRef): string => `${rel(f.path)}${f.listed ? `  (${f.listed})` : ''}`;
  section('missing files', r.missing, where);
  section('unreadable images', r.unreadable, (f) => `${where(f)}: ${f.error}`, `${r.unreadable.length} of ${r.images.checked} read`);
  section(`duplicate contents${r.duplicatesAllowed ? ' (allowed)' : ''}`, r.duplicates, (d) =>
    `${d.sha256.slice(0, 12)} ${d.files.length} copies${d.conflicting ? ' WITH DIFFERENT LABELS' : ''}: ${d.files.map((f) => rel(f.path)).join(', ')}`,
  );
  section('outside the root (refused)', r.escapes, (e) => `${e.listed ? `${e.listed}: ` : ''}${e.reason}`);
  section('list problems', r.listProblems, (p) => p.message);
  const how = r.images.deep ? 'decoded in full' : 'headers read';
  out.push('', `images: ${r.images.checked} of ${r.images.total} ${how}${r.images.sampled ? ' (a sample)' : ''}; ${r.hashed} hashed for duplicates`);
  if (r.notes.length) out.push(...r.notes.map((n) => `note: ${n}`));
  if (!r.images.checked && !r.images.total) out.push('', 'note: no image file was found');
  return out.join('\n');
}
