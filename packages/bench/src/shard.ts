/**
 * `--shard i/n`: a deterministic split of a grid across machines. `--shard i/n@manifest.json`
 * takes part i of a split written down by `dampl bench slurm` (cluster/manifest.ts): the cells
 * that file lists for it, whatever records have accrued since the split.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@dampl/runtime';
import { parseManifest } from './cluster/manifest.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
  /** The cell keys of this part, where the split comes from a manifest. */
  keys?: ReadonlySet<string>;
  /** The manifest file the keys come from. */
  manifest?: string;
}

export function parseShard(s: string): Shard {
  const at = s.indexOf('@');
  const spec = at < 0 ? s : s.slice(0, at);
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new ConfigError(`--shard must be i/n or i/n@manifest.json with 1 <= i <= n, got '${s}'`, 'e.g. --shard 1/3 on the first of three machines');
  }
  if (at < 0) return { index, count };
  const file = s.slice(at + 1);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`--shard ${s}: cannot read the manifest ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'give the manifest.json that `dampl bench slurm` wrote beside its job scripts');
  }
  const manifest = parseManifest(text, file);
  if (manifest.shards.length !== count) {
    throw new ConfigError(`--shard ${spec}: ${file} splits the grid in ${manifest.shards.length} part(s), not ${count}`, `use --shard i/${manifest.shards.length}@${file}`);
  }
  return { index, count, manifest: file, keys: new Set(manifest.shards[index - 1]!.cells.map((c) => c.key)) };
}

/**
 * The shard a cell belongs to: its key's first 32 bits modulo n. It depends on the cell alone,
 * so every machine agrees whatever its filters or registered methods, and the shards of a grid
 * are disjoint and together the whole grid.
 */
export function shardOf(key: string, count: number): number {
  return (Number.parseInt(key.slice(0, 8), 16) % count) + 1;
}

export function inShard(cell: { key: string }, shard: Shard | undefined): boolean {
  if (!shard) return true;
  return shard.keys ? shard.keys.has(cell.key) : shardOf(cell.key, shard.count) === shard.index;
}
