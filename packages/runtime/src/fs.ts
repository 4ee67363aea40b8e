import { existsSync } from 'node:fs';
import { rename, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The workspace root (the folder holding nx.json), found from this file; `DAMPL_ROOT` names it for
 * code run from a bundle (the GPU kit), whose files are not where the sources were.
 */
export const workspaceRoot = process.env.DAMPL_ROOT
  ? path.resolve(process.env.DAMPL_ROOT)
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The `shared/reference` folder beside the checkout (reference vectors used by tests), or
 * undefined when it is absent. `DAMPL_SHARED` overrides the location of `shared/`.
 */
export function sharedReferenceDir(): string | undefined {
  const candidates = [
    process.env.DAMPL_SHARED && path.join(process.env.DAMPL_SHARED, 'reference'),
    path.resolve(workspaceRoot, '../shared/reference'),
  ].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p));
}

/** Writes a file atomically: to a temporary name beside it, then renamed. */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
