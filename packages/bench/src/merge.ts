/**
 * `dampl bench merge`: joins the results folders of shards (or of any runs of a suite) into one
 * folder and rebuilds its tables. Records are copied by cell key; when two folders hold the same
 * cell, the later record is kept. Folders whose cells of one method on one dataset have different
 * config hashes are refused (their tables would mix two configs under one name), and the code
 * commits the records carry are listed: a shard resumed after a pull spans two.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DamplError, type Logger } from '@dampl/runtime';
import { readRecords, writeRecord, RUNS_DIR, type RunRecord } from './records.js';
import { readSuiteFile, writeTables } from './tables.js';
import { displayPath, type SkippedDataset } from './suites.js';

export interface MergeReport {
  out: string;
  records: number;
  copied: number;
  files: string[];
  /** The code commits of the merged folders' records, most records first, with the folders that have each. */
  commits: { commit: string; records: number; dirs: string[] }[];
}

/** The cells of one method on one dataset, model and backend: one config in a table. */
const groupOf = (r: RunRecord) => `${r.suite}\u0000${r.method}\u0000${r.dataset}\u0000${r.model.id}\u0000${r.provenance.backendFamily ?? ''}`;

/** Refuses folders that disagree on the config hash of a method on a dataset. */
export function checkConfigHashes(byDir: ReadonlyMap<string, Iterable<RunRecord>>): void {
  const groups = new Map<string, Map<string, Map<string, number>>>();
  for (const [dir, records] of byDir) {
    for (const r of records) {
      const g = groups.get(groupOf(r)) ?? new Map<string, Map<string, number>>();
      groups.set(groupOf(r), g);
      const dirs = g.get(r.configHash) ?? new Map<string, number>();
      g.set(r.configHash, dirs);
      dirs.set(dir, (dirs.get(dir) ?? 0) + 1);
    }
  }
  const clashes: string[] = [];
  for (const [k, hashes] of groups) {
    const dirs = new Set([...hashes.values()].flatMap((d) => [...d.keys()]));
    if (hashes.size < 2 || dirs.size < 2) continue;
    const [, method, dataset] = k.split('\u0000');
    clashes.push(`${method} on ${dataset}: ${[...hashes].map(([h, d]) => `config ${h.slice(0, 12)} in ${[...d].map(([dir, n]) => `${displayPath(dir)} (${n} cell(s))`).join(', ')}`).join('; ')}`);
  }
  if (clashes.length) {
    throw new ConfigError(`the folders disagree on the config of ${clashes.length} method(s): ${clashes.slice(0, 5).join(' | ')}${clashes.length > 5 ? ' | ...' : ''}`,
      'their cells ran with other code or options; run the odd ones again with the same code and options (or remove their records), or merge only the folders that agree');
  }
}

function commitsOf(byDir: ReadonlyMap<string, Iterable<RunRecord>>): MergeReport['commits'] {
  const by = new Map<string, { records: number; dirs: Set<string> }>();
  for (const [dir, records] of byDir) {
    for (const r of records) {
      const c = by.get(r.provenance.commit) ?? { records: 0, dirs: new Set<string>() };
      by.set(r.provenance.commit, c);
      c.records++;
      c.dirs.add(dir);
    }
  }
  return [...by].map(([commit, c]) => ({ commit, records: c.records, dirs: [...c.dirs] })).sort((a, b) => b.records - a.records || a.commit.localeCompare(b.commit));
}

export async function mergeResults(dirs: readonly string[], out: string, log?: Logger): Promise<MergeReport> {
  const chosen = new Map<string, RunRecord>();
  const suites = new Set<string>();
  const skipped = new Map<string, Pick<SkippedDataset, 'dataset' | 'reason' | 'command'>>();
  const target = path.resolve(out);
  const existing = await readRecords(target, log);
  for (const r of existing.values()) chosen.set(r.key, r);
  const byDir = new Map<string, RunRecord[]>();
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, RUNS_DIR))) throw new DamplError(`${dir} has no ${RUNS_DIR}/ folder`, 'give the results folders of the shards, e.g. results/synth');
    const sf = await readSuiteFile(dir);
    if (sf) {
      suites.add(sf.suite);
      for (const s of sf.skipped) skipped.set(s.dataset, s);
    }
    byDir.set(path.resolve(dir), [...(await readRecords(dir, log)).values()]);
  }
  checkConfigHashes(byDir);
  for (const records of byDir.values()) {
    for (const r of records) {
      suites.add(r.suite);
      const prev = chosen.get(r.key);
      if (!prev || r.provenance.date > prev.provenance.date) chosen.set(r.key, r);
    }
  }
  let copied = 0;
  for (const r of chosen.values()) {
    if (existing.get(r.key) === r) continue;
    await writeRecord(target, r);
    copied++;
  }
  const suite = [...suites].sort().join('+') || undefined;
  const files = await writeTables(target, { suite, skipped: skipped.size ? [...skipped.values()] as SkippedDataset[] : undefined, log });
  const commits = commitsOf(byDir);
  log?.info(`merged ${dirs.length} folder(s): ${chosen.size} record(s) in ${out} (${copied} copied)`);
  log?.info(`the merged folders' records come from ${commits.length} commit(s): `
    + commits.map((c) => `${c.commit.replace(/^([0-9a-f]{12})[0-9a-f]+/, '$1')} (${c.records} record(s) in ${c.dirs.map(displayPath).join(', ')})`).join('; '));
  return { out: target, records: chosen.size, copied, files, commits };
}
