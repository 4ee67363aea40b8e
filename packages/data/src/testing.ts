/**
 * Helpers for this package's tests: temporary trees, tiny images, hand-made tar and zip
 * archives (including malicious ones) and a local HTTP server. Not exported from the package.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';

/** A fresh temporary folder and a function that removes it. */
export async function tempDir(prefix = 'dampl-data-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A 4x4 image whose bytes depend on `seed`; format from the extension. Lossy encoders may map
 * close colours to the same bytes, so the seed is also written into the EXIF description.
 */
async function imageBytes(seed: number, ext = '.jpg'): Promise<Buffer> {
  const img = sharp({ create: { width: 4, height: 4, channels: 3, background: { r: (seed * 53) % 256, g: (seed * 97) % 256, b: 77 } } })
    .withExif({ IFD0: { ImageDescription: `test image ${seed}` } });
  return ext === '.png' ? img.png().toBuffer() : ext === '.webp' ? img.webp().toBuffer() : img.jpeg().toBuffer();
}

let seedCounter = 1;

/** Writes a distinct tiny image at `file` (parents created). */
export async function writeImage(file: string, seed = seedCounter++): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await imageBytes(seed, path.extname(file).toLowerCase()));
}

export async function writeText(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string | Buffer;
  linkname?: string;
}

/** A ustar archive built byte by byte, so that any entry name (absolute, "..") can be written. */
export function makeTar(entries: TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.content ?? '');
    const h = Buffer.alloc(512);
    const put = (s: string, at: number, len: number): void => void h.write(s, at, Math.min(len, Buffer.byteLength(s)), 'utf8');
    const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
    const type = e.type ?? 'file';
    put(e.name, 0, 100);
    put(octal(type === 'dir' ? 0o755 : 0o644, 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(type === 'file' ? body.length : 0, 12), 124, 12);
    put(octal(1_700_000_000, 12), 136, 12);
    h.fill(0x20, 148, 156);
    put({ file: '0', dir: '5', symlink: '2', hardlink: '1' }[type], 156, 1);
    put(e.linkname ?? '', 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(h);
    if (type === 'file') {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface ZipEntrySpec {
  name: string;
  content?: string | Buffer;
  /** Stored as a Unix symbolic link whose target is `content`. */
  symlink?: boolean;
}

/** A zip archive (stored, no compression) built byte by byte. */
export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.content ?? '');
    const crc = zlib.crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x0800, 6);
    lh.writeUInt16LE(0, 8);
    lh.writeUInt16LE(0, 10);
    lh.writeUInt16LE(0x21, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    locals.push(lh, name, data);
    const mode = e.symlink ? 0o120777 : e.name.endsWith('/') ? 0o40755 : 0o100644;
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE((3 << 8) | 20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(0, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE((mode << 16) >>> 0, 38);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, name);
    offset += lh.length + name.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface ServedFile {
  body: Buffer;
  /** The first request gets the headers and half the body, then the connection is closed. */
  cutFirst?: boolean;
  /** Answer 200 with the whole body even to a Range request. */
  ignoreRange?: boolean;
}

export interface TestServer {
  url: string;
  /** Every request: path and Range header. */
  requests: { path: string; range?: string }[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 serving `files` by path ("/a.tar"), with Range support. */
export async function serveFiles(files: Record<string, ServedFile>): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = req.url ?? '/';
    const range = req.headers.range;
    requests.push({ path: p, ...(range ? { range } : {}) });
    const f = files[decodeURIComponent(p)];
    if (!f) {
      res.writeHead(404).end('not found');
      return;
    }
    const n = (seen.get(p) ?? 0) + 1;
    seen.set(p, n);
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && !f.ignoreRange) {
      const start = Number(m[1]);
      if (start >= f.body.length) {
        res.writeHead(416, { 'content-range': `bytes */${f.body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': f.body.length - start, 'content-range': `bytes ${start}-${f.body.length - 1}/${f.body.length}` });
      res.end(f.body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': f.body.length, 'accept-ranges': 'bytes' });
    if (f.cutFirst && n === 1) {
      const half = Math.floor(f.body.length / 2);
      res.write(f.body.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    res.end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
