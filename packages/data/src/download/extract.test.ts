import { access, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTar, makeZip, tempDir } from '../testing.js';
import { entryViolation, extractArchive, scanArchive, UnsafeArchiveError } from './extract.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

describe('entryViolation', () => {
  const dest = '/data/root';
  it('accepts plain entries and links that stay inside', () => {
    expect(entryViolation(dest, { name: 'a/b.jpg', type: 'file' })).toBeUndefined();
    expect(entryViolation(dest, { name: './a/', type: 'dir' })).toBeUndefined();
    expect(entryViolation(dest, { name: 'a/link', type: 'symlink', linkpath: '../b/c.jpg' })).toBeUndefined();
    expect(entryViolation(dest, { name: 'here', type: 'symlink', linkpath: '.' })).toBeUndefined();
    expect(entryViolation(dest, { name: 'a/hard', type: 'hardlink', linkpath: 'a/b.jpg' })).toBeUndefined();
  });

  it('refuses absolute paths, "..", links leaving the root and special files', () => {
    expect(entryViolation(dest, { name: '/etc/passwd', type: 'file' })).toBe('an absolute path');
    expect(entryViolation(dest, { name: 'C:/x', type: 'file' })).toBe('an absolute path');
    expect(entryViolation(dest, { name: 'a/../../x', type: 'file' })).toBe('a ".." path component');
    expect(entryViolation(dest, { name: 'a\\..\\..\\x', type: 'file' })).toBe('a ".." path component');
    expect(entryViolation(dest, { name: 'a/link', type: 'symlink', linkpath: '../../x' })).toMatch(/outside the destination/);
    expect(entryViolation(dest, { name: 'link', type: 'symlink', linkpath: '/tmp' })).toMatch(/absolute path \/tmp/);
    expect(entryViolation(dest, { name: 'hard', type: 'hardlink', linkpath: '../x' })).toMatch(/hard link to \.\.\/x, outside/);
    expect(entryViolation(dest, { name: 'dev', type: 'special' })).toBe('a device or FIFO entry');
  });
});

describe('extractArchive', () => {
  it('extracts a gzip-compressed tar', async () => {
    const tgz = path.join(dir, 'a.tar.gz');
    await writeFile(tgz, zlib.gzipSync(makeTar([{ name: 'Art/Bed/1.jpg', content: 'x' }, { name: 'Art/Bed/2.jpg', content: 'y' }])));
    expect((await scanArchive(tgz, 'tar.gz')).map((e) => e.name)).toEqual(['Art/Bed/1.jpg', 'Art/Bed/2.jpg']);
    await extractArchive(tgz, path.join(dir, 'out'), 'tar.gz', { progress: 'off' });
    expect(await readdir(path.join(dir, 'out', 'Art', 'Bed'))).toEqual(['1.jpg', '2.jpg']);
  });

  it('extracts a zip with folders and an inside link', async () => {
    const zip = path.join(dir, 'a.zip');
    await writeFile(zip, makeZip([{ name: 'real/' }, { name: 'real/cat/1.jpg', content: 'one' }, { name: 'real/first.jpg', content: 'cat/1.jpg', symlink: true }]));
    await extractArchive(zip, path.join(dir, 'out'), 'zip', { progress: 'off' });
    expect(await readFile(path.join(dir, 'out/real/cat/1.jpg'), 'utf8')).toBe('one');
    expect(await readlink(path.join(dir, 'out/real/first.jpg'))).toBe('cat/1.jpg');
  });

  it('writes nothing from an archive with one bad entry among good ones', async () => {
    const tar = path.join(dir, 'bad.tar');
    await writeFile(tar, makeTar([{ name: 'good/1.txt', content: '1' }, { name: 'good/../../evil.txt', content: 'e' }, { name: 'good/2.txt', content: '2' }]));
    await expect(extractArchive(tar, path.join(dir, 'out'), 'tar', { progress: 'off' })).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(await exists(path.join(dir, 'out'))).toBe(false);
    expect(await exists(path.join(dir, 'evil.txt'))).toBe(false);
  });

  it('says when an archive cannot be read', async () => {
    const zip = path.join(dir, 'broken.zip');
    await writeFile(zip, 'this is not a zip file');
    await expect(extractArchive(zip, path.join(dir, 'out'), 'zip', { progress: 'off' })).rejects.toThrow(/cannot read the zip archive .*broken\.zip[\s\S]*download it again/);
  });
});
