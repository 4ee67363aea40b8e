/**
 * Path containment. No path read from a list file, a folder walk or an archive may leave the
 * dataset root: paths are resolved, then checked to lie under the root, lexically and (for
 * symbolic links) after resolving the links.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DamplError } from '@dampl/runtime';
import type { Dataset } from './dataset.js';

/** True when `p` is `root` or lies under it (both absolute, compared lexically). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * `rel` resolved against `base`, or undefined when the result leaves `root`. Backslashes count
 * as separators so that a Windows-made list cannot slip `..\\` through.
 */
export function resolveInside(root: string, base: string, rel: string): string | undefined {
  const p = path.resolve(base, rel.replace(/\\/g, '/'));
  return isInside(root, p) ? p : undefined;
}

/** The hint shown when a root or a part of it is missing. */
function layoutHint(ds: Pick<Dataset, 'name' | 'layout' | 'download'>, root: string): string {
  const get = ds.download
    ? ds.download.archives.some((a) => a.url)
      ? `download it with \`dampl data download ${ds.name} --root ${root}\``
      : `\`dampl data download ${ds.name} --root ${root}\` prints the steps to get it`
    : undefined;
  const layout = ds.layout ? `expected layout under the root:\n${ds.layout.replace(/^/gm, '      ')}` : undefined;
  return [get, layout].filter(Boolean).join('; ');
}

/** The absolute root, which must be an existing folder; otherwise a DamplError that says what to do. */
export async function requireRoot(ds: Pick<Dataset, 'name' | 'title' | 'layout' | 'download'>, root: string): Promise<string> {
  const abs = path.resolve(root);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new DamplError(`${ds.title ?? ds.name}: the dataset root ${abs} does not exist`, layoutHint(ds, root));
  if (!st.isDirectory()) throw new DamplError(`${ds.title ?? ds.name}: the dataset root ${abs} is not a folder`, layoutHint(ds, root));
  return abs;
}

/** A DamplError for a missing part (folder or list file) under an existing root. */
export function missingPartError(ds: Pick<Dataset, 'name' | 'title' | 'layout' | 'download'>, root: string, what: string): DamplError {
  return new DamplError(`${ds.title ?? ds.name}: ${what}`, layoutHint(ds, root));
}
