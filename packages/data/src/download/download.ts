/**
 * `downloadDataset`: fetches a dataset's official archives into `<root>/.downloads/`, verifies
 * them, and extracts them safely under the root. Archives without a direct link and files
 * behind a form (Office-Home, mini-DomainNet's split files) come back as manual steps.
 */
import { access, mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, DamplError, silentLogger, type Logger } from '@dampl/runtime';
import { sha256File } from '../check.js';
import type { ArchiveSpec, ManualStep } from '../types.js';
import type { Dataset } from '../dataset.js';
import { extractArchive } from './extract.js';
import { fetchResumable } from './fetch-resumable.js';

export interface DownloadOptions {
  /** A mirror serving every archive at `<baseUrl>/<file>`; replaces the official links. */
  baseUrl?: string;
  /** Archive names to fetch (default: all). */
  only?: string[];
  /** Keep the archives in `<root>/.downloads/` after extraction. */
  keepArchives?: boolean;
  /** Fetch and extract even when the archive's folders are already present. */
  force?: boolean;
  retries?: number;
  timeoutMs?: number;
  backoffMs?: number;
  progress?: 'bar' | 'lines' | 'off';
  logger?: Logger;
}

export interface ArchiveOutcome {
  name: string;
  file: string;
  url?: string;
  status: 'downloaded' | 'present' | 'no-link';
  sha256?: string;
  /** True when the sha256 matched a published value. */
  verified?: boolean;
  bytes?: number;
}

export interface DownloadReport {
  dataset: string;
  root: string;
  archives: ArchiveOutcome[];
  /** Steps still to be done by hand (their files are not yet under the root). */
  manual: ManualStep[];
  source: string;
}

/** The mirror named by the environment variable DAMPL_DATA_MIRROR, if any (read by the command line). */
export function mirrorFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.DAMPL_DATA_MIRROR?.trim() || undefined;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

async function allExist(root: string, paths: string[]): Promise<boolean> {
  for (const p of paths) if (!(await exists(path.join(root, p)))) return false;
  return paths.length > 0;
}

function urlOf(a: ArchiveSpec, baseUrl: string | undefined): string | undefined {
  return baseUrl ? `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(a.file)}` : a.url;
}

export async function downloadDataset(ds: Dataset, root: string, opts: DownloadOptions = {}): Promise<DownloadReport> {
  const log = opts.logger ?? silentLogger;
  const spec = ds.download;
  if (!spec) throw new DamplError(`${ds.title ?? ds.name} has no download recipe`, ds.layout ? `arrange it by hand as:\n${ds.layout}` : undefined);
  const absRoot = path.resolve(root);
  let archives = spec.archives;
  if (opts.only?.length) {
    const unknown = opts.only.filter((n) => !archives.some((a) => a.name === n));
    if (unknown.length) {
      throw new ConfigError(`${ds.name} has no archive ${unknown.join(', ')}`, `archives: ${archives.map((a) => a.name).join(', ') || 'none'}`);
    }
    archives = archives.filter((a) => opts.only!.includes(a.name));
  }
  await mkdir(absRoot, { recursive: true });
  const downloads = path.join(absRoot, '.downloads');

  const outcomes: ArchiveOutcome[] = [];
  for (const a of archives) {
    const url = urlOf(a, opts.baseUrl);
    if (!opts.force && (await allExist(absRoot, a.provides))) {
      log.info(`${a.name}: already present (${a.provides.join(', ')}); skipped`);
      outcomes.push({ name: a.name, file: a.file, ...(url ? { url } : {}), status: 'present' });
      continue;
    }
    if (!url) {
      log.warn(`${a.name}: no direct link for ${a.file}; give a mirror with --base-url or DAMPL_DATA_MIRROR`);
      outcomes.push({ name: a.name, file: a.file, status: 'no-link' });
      continue;
    }
    const dest = path.join(downloads, a.file);
    let got: { sha256: string; verified: boolean; size: number } | undefined;
    if (await exists(dest)) {
      // A complete download from an earlier run that did not get to extraction.
      const sha256 = await sha256File(dest);
      if (!a.sha256 || sha256 === a.sha256.toLowerCase()) {
        log.info(`${a.file}: using the earlier download in ${downloads}`);
        got = { sha256, verified: !!a.sha256, size: 0 };
      } else {
        log.warn(`${a.file}: the earlier download does not match the published sha256; downloading again`);
        await rm(dest);
      }
    }
    if (!got) {
      log.info(`${a.name}: ${url}`);
      const r = await fetchResumable(url, dest, {
        ...(a.size !== undefined ? { size: a.size } : {}),
        ...(a.sha256 ? { sha256: a.sha256 } : {}),
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
        ...(opts.progress ? { progress: opts.progress } : {}),
        logger: log,
      });
      got = r;
    }
    const into = path.join(absRoot, a.into ?? '');
    const { entries } = await extractArchive(dest, into, a.format, { ...(opts.progress ? { progress: opts.progress } : {}), logger: log });
    log.info(`${a.name}: extracted ${entries} entries into ${into}`);
    if (!opts.keepArchives) await rm(dest, { force: true });
    outcomes.push({ name: a.name, file: a.file, url, status: 'downloaded', sha256: got.sha256, verified: got.verified, ...(got.size ? { bytes: got.size } : {}) });
  }

  await rmdir(downloads).catch(() => undefined); // only when empty
  const manual: ManualStep[] = [];
  for (const m of spec.manual ?? []) if (!(await allExist(absRoot, m.provides))) manual.push(m);
  return { dataset: ds.name, root: absRoot, archives: outcomes, manual, source: spec.source };
}

/** The report as text: what was fetched, what was already there, and the steps left to do by hand. */
export function formatDownloadReport(r: DownloadReport): string {
  const out = [`${r.dataset} into ${r.root}`];
  for (const a of r.archives) {
    const what =
      a.status === 'downloaded'
        ? `downloaded and extracted; sha256 ${a.sha256}${a.verified ? ' (verified)' : ' (unverified: no published checksum)'}`
        : a.status === 'present'
          ? 'already present'
          : 'no direct link (use --base-url or DAMPL_DATA_MIRROR)';
    out.push(`  ${a.name.padEnd(12)} ${what}`);
  }
  for (const m of r.manual) {
    out.push('', `to do by hand: ${m.what}`, ...m.steps.map((s, i) => `  ${i + 1}. ${s}`));
  }
  out.push('', `links from: ${r.source}`);
  return out.join('\n');
}
