/**
 * One encoder per feature-cache entry at a time, across the processes and machines that share its
 * file system (the tasks of a SLURM array, `--jobs` workers, two runs started by hand): a lock
 * file `<entry>.lock` beside the entry, created exclusively (O_EXCL, which NFS v3+ and Lustre
 * honour). The holder touches it every `heartbeatMs`; the others wait, then find the entry that
 * the holder wrote complete. A lock whose process is gone (same host) or that nobody touched for
 * `staleMs` (a machine that died) is taken over. Writes stay atomic (cache.ts), so the lock only
 * saves the duplicate work and the races of two writers on one entry's chunks.
 *
 *   await using lock = await lockCacheEntry(cache.dir, { log, what: 'office-home/Art/all' });
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '@dampl/runtime';

export interface LockOptions {
  log?: Logger;
  /** What the holder is encoding, for the waiting message. */
  what?: string;
  pollMs?: number;
  heartbeatMs?: number;
  staleMs?: number;
}

export interface CacheLock extends AsyncDisposable {
  readonly file: string;
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
  token: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<{ holder?: Holder; mtimeMs: number } | undefined> {
  try {
    const st = await stat(file);
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(await readFile(file, 'utf8')) as Holder;
    } catch {
      // being written: treated as held until it is stale by age
    }
    return { holder, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Takes the lock of the cache entry `dir`, waiting while another process holds it. */
export async function lockCacheEntry(dir: string, o: LockOptions = {}): Promise<CacheLock> {
  const log = o.log ?? silentLogger;
  const file = `${dir}.lock`;
  const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const staleMs = o.staleMs ?? 120_000;
  let waited = false;
  await mkdir(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      await writeFile(file, JSON.stringify(me) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES') {
        log.debug(`feature cache ${dir}: no lock (${code}); reading it as it is`);
        return { file, release: async () => {}, [Symbol.asyncDispose]: async () => {} };
      }
      if (code !== 'EEXIST') throw e;
    }
    const h = await readHolder(file);
    if (!h) continue;
    const gone = h.holder && h.holder.host === me.host && !alive(h.holder.pid);
    if (gone || Date.now() - h.mtimeMs > staleMs) {
      log.warn(`feature cache ${dir}: taking over the lock of ${h.holder ? `pid ${h.holder.pid} on ${h.holder.host}` : 'an unknown process'} (${gone ? 'its process is gone' : `untouched for ${Math.round((Date.now() - h.mtimeMs) / 1000)} s`})`);
      // renamed first, so that of two processes breaking it one removes it
      const aside = `${file}.${me.token}`;
      await rename(file, aside).then(() => rm(aside, { force: true }), () => {});
      continue;
    }
    if (!waited) {
      waited = true;
      log.info(`${o.what ?? dir}: waiting for ${h.holder ? `pid ${h.holder.pid} on ${h.holder.host}` : 'another process'}, which is encoding it`);
    }
    await sleep(o.pollMs ?? 1000);
  }
  const beat = setInterval(() => { void utimes(file, new Date(), new Date()).catch(() => {}); }, o.heartbeatMs ?? 20_000);
  beat.unref();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    const h = await readHolder(file);
    if (h?.holder?.token === me.token) await rm(file, { force: true });
  };
  return { file, release, [Symbol.asyncDispose]: release };
}
