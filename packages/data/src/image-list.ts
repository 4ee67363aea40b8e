/**
 * Image list files, one image a line: `relative/path.jpg label` (mini-DomainNet's splits_mini,
 * VisDA-2017's image_list.txt). Paths are resolved against a base folder and must stay under
 * the dataset root; a line that leaves it is refused.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from './paths.js';
import type { DatasetItem, IndexProblem } from './types.js';

/** Cross-file bookkeeping of the label column against the class names in the paths. */
export class LabelColumnCheck {
  /** class index -> label column value first seen for it */
  private readonly columnOf = new Map<number, { value: number; where: string }>();
  /** Lines whose label column differs from the class's index in the dataset's class list. */
  differing = 0;

  /** Returns a message when `column` contradicts an earlier line of the same class. */
  see(label: number, column: number, where: string): string | undefined {
    if (column !== label) this.differing++;
    const prev = this.columnOf.get(label);
    if (!prev) {
      this.columnOf.set(label, { value: column, where });
      return undefined;
    }
    return prev.value === column ? undefined : `label ${column} differs from label ${prev.value} given to the same class at ${prev.where}`;
  }
}

export interface ImageListOptions {
  /** Absolute path of the list file. */
  file: string;
  /** Absolute dataset root: no listed path may leave it. */
  root: string;
  /** Folder the listed paths are relative to. */
  base: string;
  domain: string;
  split: string;
  classes: readonly string[];
  /**
   * Where a line's label comes from. 'path': the class folder named by path component
   * `classComponent` (the label column is then only checked for consistency); 'column': the
   * label column, checked against the class folder when the path names one.
   */
  labelFrom: 'path' | 'column';
  classComponent: number;
  /** Receives every problem; throws to stop at the first. */
  report: (p: IndexProblem) => void;
  columnCheck?: LabelColumnCheck;
}

/** Reads one list file into items; bad lines are reported and left out. */
export async function readImageList(opts: ImageListOptions): Promise<DatasetItem[]> {
  const text = await readFile(opts.file, 'utf8');
  const classIndex = new Map(opts.classes.map((c, i) => [c, i]));
  const items: DatasetItem[] = [];
  const lines = text.split(/\r?\n/);
  const shown = path.relative(opts.root, opts.file) || opts.file;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const line = i + 1;
    const where = `${shown}:${line}`;
    const problem = (kind: IndexProblem['kind'], message: string, p?: string): void =>
      opts.report({ kind, message: `${where}: ${message}`, file: opts.file, line, ...(p !== undefined ? { path: p } : {}) });

    const m = /^(.*\S)\s+(\S+)$/.exec(raw);
    if (!m) {
      problem('malformed-line', `expected "<path> <label>", got "${raw}"`);
      continue;
    }
    const rel = m[1]!;
    const column = /^-?\d+$/.test(m[2]!) ? Number(m[2]) : NaN;
    if (!Number.isInteger(column)) {
      problem('malformed-line', `the label "${m[2]}" is not an integer`, rel);
      continue;
    }
    const resolved = resolveInside(opts.root, opts.base, rel);
    if (!resolved) {
      problem('escapes-root', `"${rel}" resolves outside the dataset root ${opts.root}; refused`, rel);
      continue;
    }
    const component = rel.replace(/\\/g, '/').split('/').filter((s) => s && s !== '.')[opts.classComponent];
    const named = component === undefined ? undefined : classIndex.get(component);

    let label: number;
    if (opts.labelFrom === 'path') {
      if (named === undefined) {
        problem('unknown-class', `"${component ?? ''}" (path component ${opts.classComponent + 1} of ${rel}) is not a class of this dataset`, rel);
        continue;
      }
      label = named;
      const clash = opts.columnCheck?.see(label, column, where);
      if (clash) {
        problem('label-mismatch', clash, rel);
        continue;
      }
    } else {
      if (column < 0 || column >= opts.classes.length) {
        problem('bad-label', `label ${column} is outside 0..${opts.classes.length - 1}`, rel);
        continue;
      }
      if (named !== undefined && named !== column) {
        problem('label-mismatch', `label ${column} (${opts.classes[column]}) contradicts the class folder "${component}"`, rel);
        continue;
      }
      label = column;
    }
    items.push({ path: resolved, label, domain: opts.domain, split: opts.split, listed: { file: opts.file, line } });
  }
  return items;
}
