/**
 * Safe extraction of tar, tar.gz and zip archives. Every entry is checked before anything is
 * written: an absolute path, a `..` component, a symbolic or hard link whose target leaves the
 * destination, or a device/FIFO entry refuses the whole archive. Extraction then re-checks each
 * entry and does not write through links that leave the destination.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, list as tarList, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { DamplError, progress, silentLogger, type Logger } from '@dampl/runtime';
import { isInside } from '../paths.js';

export type ArchiveFormat = 'tar' | 'tar.gz' | 'zip';

export interface ArchiveEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'special';
  /** Target of a link, as stored. */
  linkpath?: string;
}

/** An archive with entries that would write outside the destination; nothing was written. */
export class UnsafeArchiveError extends DamplError {}

const isAbsoluteLike = (p: string): boolean => p.startsWith('/') || /^[a-zA-Z]:/.test(p);

/** Why `e` may not be extracted under `dest`, or undefined when it may. */
export function entryViolation(dest: string, e: ArchiveEntry): string | undefined {
  const name = e.name.replace(/\\/g, '/');
  if (name.includes('\0')) return 'a NUL byte in the name';
  if (isAbsoluteLike(name)) return 'an absolute path';
  if (name.split('/').includes('..')) return 'a ".." path component';
  const target = path.resolve(dest, name);
  if (!isInside(dest, target)) return 'a path outside the destination';
  if (e.type === 'special') return 'a device or FIFO entry';
  if (e.type === 'symlink' || e.type === 'hardlink') {
    const link = (e.linkpath ?? '').replace(/\\/g, '/');
    if (!link) return 'a link without a target';
    if (isAbsoluteLike(link)) return `a ${e.type === 'symlink' ? 'symbolic' : 'hard'} link to the absolute path ${link}`;
    // A symbolic link is relative to its folder; a hard link names another entry of the archive.
    const resolved = e.type === 'symlink' ? path.resolve(path.dirname(target), link) : path.resolve(dest, link);
    if (!isInside(dest, resolved)) return `a ${e.type === 'symlink' ? 'symbolic' : 'hard'} link to ${link}, outside the destination`;
  }
  return undefined;
}

function tarType(t: string): ArchiveEntry['type'] | undefined {
  switch (t) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'dir';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      return 'special';
    default:
      return undefined; // metadata headers, handled by the parser
  }
}

async function scanTar(file: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  await tarList({
    file,
    onReadEntry: (e: ReadEntry) => {
      const type = tarType(e.type);
      if (type) entries.push({ name: e.path, type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
    },
  });
  return entries;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function zipEntryInfo(e: yauzl.Entry): { name: string; type: ArchiveEntry['type']; mode: number } {
  const name = yauzl.getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, false);
  const unix = e.versionMadeBy >> 8 === 3;
  const mode = unix ? (e.externalFileAttributes >>> 16) & 0xffff : 0;
  const type = name.endsWith('/') ? 'dir' : (mode & S_IFMT) === S_IFLNK ? 'symlink' : 'file';
  return { name, type, mode };
}

async function readSmall(zip: yauzl.ZipFile, e: yauzl.Entry, max = 4096): Promise<string> {
  if (e.uncompressedSize > max) throw new UnsafeArchiveError(`a symbolic link entry of ${e.uncompressedSize} bytes`);
  const chunks: Buffer[] = [];
  for await (const c of await zip.openReadStreamPromise(e)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function openZip(file: string): Promise<yauzl.ZipFile> {
  return yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
}

async function scanZip(file: string): Promise<ArchiveEntry[]> {
  const zip = await openZip(file);
  try {
    const entries: ArchiveEntry[] = [];
    for await (const e of zip.eachEntry()) {
      const { name, type } = zipEntryInfo(e);
      entries.push({ name, type, ...(type === 'symlink' ? { linkpath: await readSmall(zip, e) } : {}) });
    }
    return entries;
  } finally {
    zip.close();
  }
}

/** The entries of an archive, without extracting anything. */
export async function scanArchive(file: string, format: ArchiveFormat): Promise<ArchiveEntry[]> {
  try {
    return format === 'zip' ? await scanZip(file) : await scanTar(file);
  } catch (e) {
    if (e instanceof DamplError) throw e;
    throw new DamplError(`cannot read the ${format} archive ${file}: ${(e as Error).message}`, 'remove it and download it again');
  }
}

export interface ExtractOptions {
  progress?: 'bar' | 'lines' | 'off';
  logger?: Logger;
}

export interface ExtractResult {
  entries: number;
}

/**
 * Extracts `file` under `dest` after checking every entry; an unsafe archive is refused with
 * an UnsafeArchiveError listing the offending entries, and nothing is written.
 */
export async function extractArchive(file: string, dest: string, format: ArchiveFormat, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const log = opts.logger ?? silentLogger;
  const absDest = path.resolve(dest);
  const entries = await scanArchive(file, format);
  const bad = entries.flatMap((e) => {
    const why = entryViolation(absDest, e);
    return why ? [`${JSON.stringify(e.name)}${e.linkpath ? ` -> ${JSON.stringify(e.linkpath)}` : ''}: ${why}`] : [];
  });
  if (bad.length) {
    throw new UnsafeArchiveError(
      `refusing to extract ${path.basename(file)}: ${bad.length} entr${bad.length === 1 ? 'y' : 'ies'} would write outside ${absDest}\n    ${bad.slice(0, 10).join('\n    ')}${bad.length > 10 ? `\n    ... and ${bad.length - 10} more` : ''}`,
      'nothing was extracted; the archive is not the published one: delete it and download it from the official address',
    );
  }
  await mkdir(absDest, { recursive: true });
  const bar = progress({ total: entries.length, title: `extract ${path.basename(file)}`, unit: 'file', mode: opts.progress });
  try {
    if (format === 'zip') await extractZip(file, absDest, () => bar.tick());
    else {
      await tarExtract({
        file,
        cwd: absDest,
        preservePaths: false,
        preserveOwner: false,
        filter: (p: string, e: unknown) => {
          const re = e as ReadEntry;
          const type = tarType(re.type);
          const ok = !!type && !entryViolation(absDest, { name: p, type, ...(re.linkpath ? { linkpath: re.linkpath } : {}) });
          if (type) bar.tick();
          return ok;
        },
        onwarn: (code: string, message: string) => log.warn(`${path.basename(file)}: ${code} ${message}`),
      });
    }
  } finally {
    bar.stop();
  }
  return { entries: entries.length };
}

/** The parent folder of `target`, created, which must resolve inside `realDest`. */
async function parentInside(realDest: string, target: string): Promise<void> {
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  const real = await realpath(dir);
  if (!isInside(realDest, real)) throw new UnsafeArchiveError(`refusing to write ${target}: its folder resolves to ${real}, outside ${realDest}`);
}

async function extractZip(file: string, dest: string, tick: () => void): Promise<void> {
  const realDest = await realpath(dest);
  const zip = await openZip(file);
  try {
    for await (const e of zip.eachEntry()) {
      const { name, type, mode } = zipEntryInfo(e);
      const target = path.resolve(dest, name.replace(/\\/g, '/'));
      if (type !== 'symlink' && entryViolation(dest, { name, type })) throw new UnsafeArchiveError(`refusing the zip entry ${name}`);
      if (type === 'dir') {
        await parentInside(realDest, path.join(target, 'x'));
      } else if (type === 'symlink') {
        const link = await readSmall(zip, e);
        if (entryViolation(dest, { name, type, linkpath: link })) throw new UnsafeArchiveError(`refusing the zip link ${name} -> ${link}`);
        await parentInside(realDest, target);
        await rm(target, { force: true });
        await symlink(link, target);
      } else {
        await parentInside(realDest, target);
        const st = await lstat(target).catch(() => undefined);
        if (st?.isSymbolicLink()) await rm(target);
        const perm = mode & 0o777 ? (mode & 0o777) | 0o600 : 0o644;
        await pipeline(await zip.openReadStreamPromise(e), createWriteStream(target, { mode: perm }));
      }
      tick();
    }
  } finally {
    zip.close();
  }
}
