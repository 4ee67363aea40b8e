import { createHash } from 'node:crypto';
import { access, lstat, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, DamplError } from '@dampl/runtime';
import { officeHome } from '../datasets/office-home.js';
import { crossDomainTasks } from '../tasks.js';
import { makeTar, makeZip, serveFiles, tempDir, type TestServer } from '../testing.js';
import type { ArchiveSpec, ManualStep } from '../types.js';
import type { Dataset } from '../dataset.js';
import { downloadDataset, formatDownloadReport } from './download.js';
import { ChecksumError } from './fetch-resumable.js';
import { UnsafeArchiveError } from './extract.js';

let dir: string;
let cleanup: () => Promise<void>;
let server: TestServer | undefined;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  await server?.close();
  server = undefined;
  await cleanup();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const fast = { progress: 'off' as const, backoffMs: 5 };

/** A dataset downloaded as `archives` (and `manual` steps). */
function withArchives(archives: ArchiveSpec[], manual?: ManualStep[]): Dataset {
  const domains = [{ name: 'a', aliases: [] }, { name: 'b', aliases: [] }];
  return {
    name: 'toy-download',
    domains,
    classes: ['x'],
    tasks: crossDomainTasks(domains, (d) => d.name),
    splits: { names: ['all'], trainSource: 'all', trainTarget: 'all', testTarget: 'all' },
    metric: 'accuracy',
    index: () => Promise.reject(new Error('not used')),
    download: { source: 'a test server', archives, ...(manual ? { manual } : {}) },
  };
}

// A tar with folders, files larger than one block, and a symbolic link that stays inside.
const goodTar = makeTar([
  { name: 'train/', type: 'dir' },
  { name: 'train/image_list.txt', content: 'aeroplane/a.png 0\n' },
  { name: 'train/aeroplane/a.png', content: Buffer.alloc(3000, 7) },
  { name: 'train/latest.png', type: 'symlink', linkname: 'aeroplane/a.png' },
]);

describe('downloadDataset', () => {
  it('resumes a download cut off halfway, verifies it and extracts it', async () => {
    server = await serveFiles({ '/train.tar': { body: goodTar, cutFirst: true } });
    const lines: string[] = [];
    const ds = withArchives([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, format: 'tar', size: goodTar.length, sha256: sha(goodTar), provides: ['train/image_list.txt'] }]);
    const r = await downloadDataset(ds, dir, { ...fast, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });

    expect(server.requests.map((q) => q.range)).toEqual([undefined, `bytes=${Math.floor(goodTar.length / 2)}-`]);
    expect(lines.some((l) => /resuming from/.test(l))).toBe(true);
    expect(r.archives).toEqual([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, status: 'downloaded', sha256: sha(goodTar), verified: true, bytes: goodTar.length }]);
    expect(await readFile(path.join(dir, 'train/image_list.txt'), 'utf8')).toBe('aeroplane/a.png 0\n');
    expect((await readFile(path.join(dir, 'train/aeroplane/a.png'))).length).toBe(3000);
    expect(await readlink(path.join(dir, 'train/latest.png'))).toBe('aeroplane/a.png');
    expect(await exists(path.join(dir, '.downloads'))).toBe(false);
    expect(formatDownloadReport(r)).toContain('(verified)');

    // Present now: skipped without a request.
    const again = await downloadDataset(ds, dir, fast);
    expect(again.archives[0]!.status).toBe('present');
    expect(server.requests).toHaveLength(2);
  });

  it('keeps the partial file when out of retries, and the next call continues it', async () => {
    server = await serveFiles({ '/train.tar': { body: goodTar, cutFirst: true } });
    const ds = withArchives([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, format: 'tar', sha256: sha(goodTar), provides: ['train'] }]);
    const err = await downloadDataset(ds, dir, { ...fast, retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    expect((err as Error).message).toMatch(/cut off/);
    expect((err as Error).message).toMatch(/run the same command again to resume/);
    const part = path.join(dir, '.downloads', 'train.tar.part');
    expect((await lstat(part)).size).toBe(Math.floor(goodTar.length / 2));

    const r = await downloadDataset(ds, dir, fast);
    expect(server.requests.at(-1)!.range).toBe(`bytes=${Math.floor(goodTar.length / 2)}-`);
    expect(r.archives[0]!.verified).toBe(true);
    expect(await exists(part)).toBe(false);
    expect(await exists(path.join(dir, 'train/aeroplane/a.png'))).toBe(true);
  });

  it('starts over when the server ignores the range request', async () => {
    server = await serveFiles({ '/train.tar': { body: goodTar, ignoreRange: true } });
    await mkdir(path.join(dir, '.downloads'));
    await writeFile(path.join(dir, '.downloads', 'train.tar.part'), Buffer.from('stale bytes from another file'));
    const ds = withArchives([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, format: 'tar', sha256: sha(goodTar), provides: ['train'] }]);
    const r = await downloadDataset(ds, dir, fast);
    expect(server.requests[0]!.range).toBe('bytes=29-');
    expect(r.archives[0]!.sha256).toBe(sha(goodTar));
    expect(await exists(path.join(dir, 'train/image_list.txt'))).toBe(true);
  });

  it('finishes a partial file that already holds every byte (416 from the server)', async () => {
    server = await serveFiles({ '/train.tar': { body: goodTar } });
    await mkdir(path.join(dir, '.downloads'));
    await writeFile(path.join(dir, '.downloads', 'train.tar.part'), goodTar);
    const ds = withArchives([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, format: 'tar', sha256: sha(goodTar), provides: ['train'] }]);
    const r = await downloadDataset(ds, dir, fast);
    expect(server.requests).toEqual([{ path: '/train.tar', range: `bytes=${goodTar.length}-` }]);
    expect(r.archives[0]!.verified).toBe(true);
  });

  it('rejects a wrong checksum, removes the partial file and extracts nothing', async () => {
    server = await serveFiles({ '/train.tar': { body: goodTar } });
    const ds = withArchives([{ name: 'train', file: 'train.tar', url: `${server.url}/train.tar`, format: 'tar', sha256: 'ab'.repeat(32), provides: ['train'] }]);
    const err = await downloadDataset(ds, dir, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as Error).message).toContain(`sha256 ${sha(goodTar)} does not match the published ${'ab'.repeat(32)}`);
    expect((err as Error).message).toContain('the partial file was removed');
    expect((err as Error).message).toContain('run the same command again');
    expect(await readdir(path.join(dir, '.downloads'))).toEqual([]);
    expect(await exists(path.join(dir, 'train'))).toBe(false);
  });

  it('refuses a malicious tar: "..", an absolute path, a link to /tmp; nothing is written outside the root', async () => {
    const root = path.join(dir, 'root');
    const tag = path.basename(dir);
    const absolute = `/tmp/${tag}-absolute.txt`;
    const evil = makeTar([
      { name: 'ok.txt', content: 'fine' },
      { name: '../evil.txt', content: 'escaped' },
      { name: absolute, content: 'escaped' },
      { name: 'tmp-link', type: 'symlink', linkname: '/tmp' },
      { name: 'up-link', type: 'symlink', linkname: '../..' },
      { name: 'hard', type: 'hardlink', linkname: '../../etc/passwd' },
    ]);
    server = await serveFiles({ '/evil.tar': { body: evil } });
    const ds = withArchives([{ name: 'evil', file: 'evil.tar', url: `${server.url}/evil.tar`, format: 'tar', provides: ['ok.txt'] }]);
    const err = await downloadDataset(ds, root, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    const msg = (err as Error).message;
    expect(msg).toContain('5 entries would write outside');
    expect(msg).toContain('"../evil.txt": a ".." path component');
    expect(msg).toContain(`"${absolute}": an absolute path`);
    expect(msg).toContain('"tmp-link" -> "/tmp": a symbolic link to the absolute path /tmp');
    expect(msg).toContain('"up-link" -> "../..": a symbolic link to ../.., outside the destination');
    expect(msg).toContain('"hard" -> "../../etc/passwd"');
    expect(await exists(path.join(dir, 'evil.txt'))).toBe(false);
    expect(await exists(absolute)).toBe(false);
    expect((await readdir(root)).filter((n) => n !== '.downloads')).toEqual([]);
  });

  it('takes a mirror (baseUrl) over the official link, and warns that an unpublished checksum is unverified', async () => {
    const zip = makeZip([
      { name: 'clipart/' },
      { name: 'clipart/aircraft_carrier/clipart_001_000018.jpg', content: 'jpeg bytes' },
      { name: 'clipart/latest.jpg', content: 'aircraft_carrier/clipart_001_000018.jpg', symlink: true },
    ]);
    server = await serveFiles({ '/clipart.zip': { body: zip } });
    const lines: string[] = [];
    const ds = withArchives([{ name: 'clipart', file: 'clipart.zip', url: 'http://127.0.0.1:9/unreachable/clipart.zip', format: 'zip', provides: ['clipart'] }]);
    const r = await downloadDataset(ds, dir, { ...fast, baseUrl: `${server.url}/`, keepArchives: true, logger: createLogger({ sink: (l) => lines.push(l) }) });
    expect(server.requests.map((q) => q.path)).toEqual(['/clipart.zip']);
    expect(r.archives[0]).toMatchObject({ status: 'downloaded', verified: false, sha256: sha(zip) });
    expect(lines.some((l) => l.includes(`unverified, no published sha256 to compare with; computed sha256 ${sha(zip)}`))).toBe(true);
    expect(await readFile(path.join(dir, 'clipart/aircraft_carrier/clipart_001_000018.jpg'), 'utf8')).toBe('jpeg bytes');
    expect(await readlink(path.join(dir, 'clipart/latest.jpg'))).toBe('aircraft_carrier/clipart_001_000018.jpg');
    expect(await exists(path.join(dir, '.downloads/clipart.zip'))).toBe(true);
    expect(formatDownloadReport(r)).toContain('(unverified: no published checksum)');
  });

  it('refuses a malicious zip with nothing written', async () => {
    const root = path.join(dir, 'root');
    const tag = path.basename(dir);
    const zip = makeZip([
      { name: 'ok.txt', content: 'fine' },
      { name: '../evil.txt', content: 'escaped' },
      { name: `/tmp/${tag}-abs.txt`, content: 'escaped' },
      { name: 'tmp-link', content: '/tmp', symlink: true },
    ]);
    server = await serveFiles({ '/bad.zip': { body: zip } });
    const ds = withArchives([{ name: 'bad', file: 'bad.zip', url: `${server.url}/bad.zip`, format: 'zip', provides: ['ok.txt'] }]);
    const err = await downloadDataset(ds, root, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain('3 entries would write outside');
    expect(await exists(path.join(dir, 'evil.txt'))).toBe(false);
    expect(await exists(`/tmp/${tag}-abs.txt`)).toBe(false);
    expect((await readdir(root)).filter((n) => n !== '.downloads')).toEqual([]);
  });

  it('says what a 404 means', async () => {
    server = await serveFiles({});
    const ds = withArchives([{ name: 'x', file: 'x.tar', url: `${server.url}/x.tar`, format: 'tar', provides: ['x'] }]);
    await expect(downloadDataset(ds, dir, fast)).rejects.toThrow(/HTTP 404 for .*x\.tar[\s\S]*check the mirror/);
  });

  it('lists only the manual steps not yet done, and archives without a link', async () => {
    const step: ManualStep = { what: 'split files', provides: ['splits_mini'], steps: ['fetch them by hand'] };
    const ds = withArchives([{ name: 'nolink', file: 'n.zip', format: 'zip', provides: ['n'] }], [step]);
    const r = await downloadDataset(ds, dir, fast);
    expect(r.archives).toEqual([{ name: 'nolink', file: 'n.zip', status: 'no-link' }]);
    expect(r.manual).toEqual([step]);
    await mkdir(path.join(dir, 'splits_mini'));
    expect((await downloadDataset(ds, dir, fast)).manual).toEqual([]);
    await expect(downloadDataset(ds, dir, { ...fast, only: ['nothing'] })).rejects.toThrow(/has no archive nothing[\s\S]*archives: nolink/);
  });

  it('returns the manual steps when there is no direct link (Office-Home)', async () => {
    const r = await downloadDataset(officeHome, dir, fast);
    expect(r.archives).toEqual([]);
    expect(r.manual).toHaveLength(1);
    const text = formatDownloadReport(r);
    expect(text).toContain('to do by hand: the Office-Home images');
    expect(text).toContain('hemanthdv.org/OfficeHome-Dataset');
  });
});
