/**
 * A resumable HTTP(S) download into `<dest>.part`, verified before it is renamed to `dest`.
 *
 * - An existing `.part` file is continued with a `Range: bytes=<size>-` request; a server that
 *   answers 200 instead of 206 ignored the range, and the file is restarted from zero.
 * - A connection lost mid-body is resumed the same way, up to `retries` times; past that the
 *   `.part` file is kept and the error says to run the command again.
 * - Size and sha256 are checked when a published value exists; a mismatch removes the `.part`
 *   file. Without a published sha256 the computed one is logged as unverified.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DamplError, progress, silentLogger, type Logger, type Progress } from '@dampl/runtime';
import { sha256File } from '../check.js';

export interface FetchOptions {
  /** Published size in bytes, when known. */
  size?: number;
  /** Published hex sha256, when known. */
  sha256?: string;
  /** Resumptions after a lost connection within this call (default 3). */
  retries?: number;
  /** Idle socket timeout (default 60 s). */
  timeoutMs?: number;
  /** Pause before a resumption, times the attempt number (default 1 s). */
  backoffMs?: number;
  progress?: 'bar' | 'lines' | 'off';
  logger?: Logger;
}

export interface FetchResult {
  file: string;
  size: number;
  sha256: string;
  /** True when the sha256 matched a published value. */
  verified: boolean;
  /** Bytes already present in `.part` when this call started. */
  resumedFrom: number;
  /** HTTP requests made. */
  requests: number;
}

/** The body failed verification; the `.part` file has been removed. */
export class ChecksumError extends DamplError {}

class HttpStatusError extends DamplError {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(
      `HTTP ${status} for ${url}`,
      status === 404 ? 'the file is not at that address: check the mirror (--base-url, DAMPL_DATA_MIRROR) or the link in the dataset definition' : 'try again later',
    );
  }
}

class CutOff extends Error {}

const MiB = 1024 * 1024;

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => undefined))?.size ?? 0;
}

/** A GET following up to 5 redirects. */
function get(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!mod) return reject(new DamplError(`unsupported URL ${url}`, 'use an http:// or https:// address'));
    const req = mod.get(u, { headers: { 'user-agent': 'dampl-data', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new DamplError(`too many redirects from ${url}`));
        return resolve(get(new URL(res.headers.location, u).toString(), headers, timeoutMs, redirects - 1));
      }
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

function contentRange(h: string | undefined): { start: number; total?: number } | undefined {
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(h ?? '');
  if (!m) return undefined;
  return { start: m[1] === undefined ? -1 : Number(m[1]), ...(m[2] !== '*' ? { total: Number(m[2]) } : {}) };
}

const fmt = (n: number): string => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`);

export async function fetchResumable(url: string, dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const log = opts.logger ?? silentLogger;
  const retries = opts.retries ?? 3;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const name = path.basename(dest);
  const part = `${dest}.part`;
  await mkdir(path.dirname(dest), { recursive: true });

  const resumedFrom = await sizeOf(part);
  if (resumedFrom > 0) log.info(`${name}: resuming from ${fmt(resumedFrom)} already in ${part}`);
  let requests = 0;
  let lost = 0;
  let bar: Progress | undefined;
  let total = opts.size;
  const show = (bytes: number): void => {
    if (!bar && total) bar = progress({ total: Math.max(0.1, Math.round((total / MiB) * 10) / 10), title: name, unit: 'MiB', mode: opts.progress });
    bar?.update(Math.round((bytes / MiB) * 10) / 10);
  };

  for (;;) {
    let have = await sizeOf(part);
    if (opts.size !== undefined && have > opts.size) {
      log.warn(`${name}: ${part} is larger than the published size; starting over`);
      await rm(part, { force: true });
      have = 0;
    }
    if (opts.size !== undefined && have === opts.size && have > 0) break;
    try {
      requests++;
      const res = await get(url, have > 0 ? { range: `bytes=${have}-` } : {}, timeoutMs);
      const status = res.statusCode ?? 0;
      let append = false;
      if (status === 206) {
        const cr = contentRange(res.headers['content-range']);
        if (!cr || cr.start !== have) {
          res.resume();
          log.warn(`${name}: the server answered with another range (${res.headers['content-range'] ?? 'none'}); starting over`);
          await rm(part, { force: true });
          throw new CutOff('unexpected range');
        }
        append = have > 0;
        total ??= cr.total;
      } else if (status === 200) {
        if (have > 0) log.warn(`${name}: ${new URL(url).host} ignored the range request; downloading from the start`);
        const len = Number(res.headers['content-length']);
        if (Number.isFinite(len) && len > 0) total ??= len;
      } else if (status === 416 && have > 0) {
        res.resume();
        if (contentRange(res.headers['content-range'])?.total === have) break;
        log.warn(`${name}: the server cannot continue ${part}; starting over`);
        await rm(part, { force: true });
        throw new CutOff('range not satisfiable');
      } else {
        res.resume();
        throw new HttpStatusError(status, url);
      }

      const bodyLength = Number(res.headers['content-length']);
      let got = 0;
      const base = append ? have : 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          got += chunk.length;
          show(base + got);
          done(null, chunk);
        },
      });
      await pipeline(res, count, createWriteStream(part, { flags: append ? 'a' : 'w' }));
      if (Number.isFinite(bodyLength) && got < bodyLength) throw new CutOff(`connection closed after ${got} of ${bodyLength} bytes`);
      break;
    } catch (e) {
      if (e instanceof DamplError) {
        bar?.stop();
        throw e;
      }
      lost++;
      const now = await sizeOf(part);
      if (lost > retries) {
        bar?.stop();
        throw new DamplError(
          `the download of ${name} from ${url} was cut off (${(e as Error).message}) at ${fmt(now)}${total ? ` of ${fmt(total)}` : ''}`,
          now > 0 ? `the partial file ${part} is kept: run the same command again to resume` : 'run the same command again',
        );
      }
      log.warn(`${name}: ${(e as Error).message}; resuming from ${fmt(now)} (attempt ${lost + 1} of ${retries + 1})`);
      await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 1000) * lost));
    }
  }
  bar?.stop();

  const size = await sizeOf(part);
  const retry = 'run the same command again to download it afresh; if it fails the same way, the server or mirror serves another file than the published one';
  if (opts.size !== undefined && size !== opts.size) {
    await rm(part, { force: true });
    throw new ChecksumError(`${name}: received ${size} bytes, the published size is ${opts.size}; the partial file was removed`, retry);
  }
  const sha256 = await sha256File(part);
  if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
    await rm(part, { force: true });
    throw new ChecksumError(`${name}: sha256 ${sha256} does not match the published ${opts.sha256.toLowerCase()}; the partial file was removed`, retry);
  }
  if (!opts.sha256) log.warn(`${name}: unverified, no published sha256 to compare with; computed sha256 ${sha256} (${size} bytes)`);
  await rename(part, dest);
  return { file: dest, size, sha256, verified: !!opts.sha256, resumedFrom, requests };
}
