/**
 * `dampl bench merge`: joins the results folders of shards (or of any runs of a suite) into one
 * folder and rebuilds its tables. Records are copied by cell key; when two folders hold the same
 * cell, the later record is kept.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DamplError, type Logger } from '@dampl/runtime';
import { readRecords, writeRecord, RUNS_DIR, type RunRecord } from './records.js';
import { readSuiteFile, writeTables } from './tables.js';
import type { SkippedDataset } from './suites.js';

export interface MergeReport {
  out: string;
  records: number;
  copied: number;
  files: string[];
}

export async function mergeResults(dirs: readonly string[], out: string, log?: Logger): Promise<MergeReport> {
  const chosen = new Map<string, RunRecord>();
  const suites = new Set<string>();
  const skipped = new Map<string, Pick<SkippedDataset, 'dataset' | 'reason' | 'command'>>();
  const target = path.resolve(out);
  const existing = await readRecords(target, log);
  for (const r of existing.values()) chosen.set(r.key, r);
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, RUNS_DIR))) throw new DamplError(`${dir} has no ${RUNS_DIR}/ folder`, 'give the results folders of the shards, e.g. results/synth');
    const sf = await readSuiteFile(dir);
    if (sf) {
      suites.add(sf.suite);
      for (const s of sf.skipped) skipped.set(s.dataset, s);
    }
    for (const r of (await readRecords(dir, log)).values()) {
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
  log?.info(`merged ${dirs.length} folder(s): ${chosen.size} record(s) in ${out} (${copied} copied)`);
  return { out: target, records: chosen.size, copied, files };
}
