/**
 * Hugging Face hub models on disk: the hub cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `~/.cache/huggingface/hub`: `models--<org>--<name>/snapshots/<rev>/`), @xenova/transformers'
 * cache (`node_modules/@xenova/transformers/.cache/<id>/`), and downloads from
 * `<endpoint>/<id>/resolve/<revision>/<file>` into the hub cache layout. The endpoint is
 * `options.endpoint`, `$DAMPL_HF_ENDPOINT`, `$HF_ENDPOINT` or https://huggingface.co;
 * `HF_HUB_OFFLINE=1` (or `TRANSFORMERS_OFFLINE=1`, `options.offline`) forbids downloading.
 */
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DamplError, silentLogger, type Logger } from '@dampl/runtime';

export interface HubOptions {
  /** Hugging Face hub cache folder (holding `models--*`); default `$HF_HUB_CACHE` or `$HF_HOME/hub`. */
  hubCacheDir?: string;
  /** @xenova/transformers' cache folder (its `env.cacheDir`); default `node_modules/@xenova/transformers/.cache`. */
  xenovaCacheDir?: string;
  /** Hub base URL; default `$DAMPL_HF_ENDPOINT`, `$HF_ENDPOINT` or https://huggingface.co. */
  endpoint?: string;
  /** Never download; default from `$HF_HUB_OFFLINE` / `$TRANSFORMERS_OFFLINE`. */
  offline?: boolean;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  logger?: Logger;
}

/** The files a Hugging Face CLIP directory holds; the first two are required. */
export const HF_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'] as const;
const REQUIRED_FILES = ['config.json', 'model.safetensors'];
/** A sharded checkpoint's index, in place of model.safetensors. */
export const SHARD_INDEX = 'model.safetensors.index.json';

const truthy = (v: string | undefined): boolean => !!v && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

function hubCacheDir(opts: HubOptions = {}): string {
  if (opts.hubCacheDir) return opts.hubCacheDir;
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

function xenovaCacheDir(opts: HubOptions = {}): string | undefined {
  if (opts.xenovaCacheDir) return opts.xenovaCacheDir;
  try {
    const pkg = createRequire(import.meta.url).resolve('@xenova/transformers/package.json');
    return path.join(path.dirname(pkg), '.cache');
  } catch {
    return undefined;
  }
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isHubId(s: string): boolean {
  return HUB_ID.test(s) && !s.endsWith('.safetensors') && !existsSync(s);
}

const repoFolder = (id: string): string => `models--${id.replace(/\//g, '--')}`;
const hasModelFiles = (dir: string): boolean => REQUIRED_FILES.every((f) => existsSync(path.join(dir, f)))
  || (existsSync(path.join(dir, 'config.json')) && existsSync(path.join(dir, SHARD_INDEX)));

/** The cached directory of a hub model, or undefined. */
export function findCachedModel(id: string, opts: HubOptions = {}): string | undefined {
  const revision = opts.revision ?? 'main';
  const repo = path.join(hubCacheDir(opts), repoFolder(id));
  const snapshots = path.join(repo, 'snapshots');
  const candidates: string[] = [];
  if (/^[0-9a-f]{40}$/.test(revision)) candidates.push(path.join(snapshots, revision));
  const ref = path.join(repo, 'refs', revision);
  if (existsSync(ref)) {
    const commit = statSync(ref).isFile() ? readFileSync(ref, 'utf8').trim() : '';
    if (commit) candidates.push(path.join(snapshots, commit));
  }
  candidates.push(path.join(snapshots, revision));
  if (existsSync(snapshots) && revision === 'main') {
    const dirs = readdirSync(snapshots).map((d) => path.join(snapshots, d))
      .filter((d) => statSync(d).isDirectory())
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    candidates.push(...dirs);
  }
  const x = xenovaCacheDir(opts);
  if (x) candidates.push(revision === 'main' ? path.join(x, id) : path.join(x, id, revision));
  return candidates.find(hasModelFiles);
}

function notCachedError(id: string, opts: HubOptions, reason: string): DamplError {
  const revision = opts.revision ?? 'main';
  const snap = path.join(hubCacheDir(opts), repoFolder(id), 'snapshots', revision);
  const x = xenovaCacheDir(opts);
  return new DamplError(
    `CLIP model '${id}' is not in the local caches and cannot be downloaded: ${reason}`,
    `put ${HF_MODEL_FILES.join(', ')} (from https://huggingface.co/${id}/tree/${revision}; the first two are required) `
    + `into ${snap}${path.sep}${x ? ` or into ${path.join(x, id)}${path.sep}` : ''}, or pass that directory's path to loadClip`,
  );
}

/**
 * Downloads a hub model's files into the Hugging Face cache layout:
 * `<hub>/models--<org>--<name>/snapshots/<commit>/<file>` plus `refs/<revision>` holding the commit
 * (the response's `x-repo-commit`, else the revision name). Files are written under a temporary
 * name and renamed when complete.
 */
export async function downloadModel(id: string, opts: HubOptions = {}): Promise<string> {
  const revision = opts.revision ?? 'main';
  const endpoint = (opts.endpoint ?? process.env.DAMPL_HF_ENDPOINT ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const log = opts.logger ?? silentLogger;
  const repo = path.join(hubCacheDir(opts), repoFolder(id));
  const staging = path.join(repo, 'snapshots', `.incomplete-${process.pid}`);
  await mkdir(staging, { recursive: true });
  let commit: string | undefined;
  try {
    for (const file of HF_MODEL_FILES) {
      const url = `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file}`;
      let res: Response;
      try {
        res = await fetch(url, { redirect: 'follow' });
      } catch (e) {
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw notCachedError(id, opts, `fetching ${url} failed (${(e as Error).message}${cause ? `: ${cause}` : ''})`);
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        if (!REQUIRED_FILES.includes(file) && res.status === 404) { log.debug(`${id}: no ${file} on the hub`); continue; }
        throw notCachedError(id, opts, `${url} answered HTTP ${res.status}`);
      }
      commit ??= res.headers.get('x-repo-commit') ?? undefined;
      const size = Number(res.headers.get('content-length') ?? 0);
      log.info(`downloading ${id}/${file}${size ? ` (${(size / 1e6).toFixed(1)} MB)` : ''}`);
      const target = path.join(staging, file);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(target));
      if (size && statSync(target).size !== size) throw notCachedError(id, opts, `${url} was cut short`);
    }
    const folder = commit && /^[0-9a-f]{40}$/.test(commit) ? commit : revision;
    const snapshot = path.join(repo, 'snapshots', folder);
    await mkdir(snapshot, { recursive: true });
    for (const f of readdirSync(staging)) await rename(path.join(staging, f), path.join(snapshot, f));
    if (folder !== revision) {
      await mkdir(path.join(repo, 'refs'), { recursive: true });
      await writeFile(path.join(repo, 'refs', revision), folder);
    }
    return snapshot;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A local directory holding the hub model: from a cache, else downloaded unless offline. */
export async function resolveHubModel(id: string, opts: HubOptions = {}): Promise<string> {
  const cached = findCachedModel(id, opts);
  if (cached) return cached;
  const offline = opts.offline ?? (truthy(process.env.HF_HUB_OFFLINE) || truthy(process.env.TRANSFORMERS_OFFLINE));
  if (offline) throw notCachedError(id, opts, 'offline mode (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE / options.offline)');
  return downloadModel(id, opts);
}
