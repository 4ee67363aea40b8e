/**
 * `--shard i/n`: a deterministic split of a grid across machines.
 */
import { ConfigError } from '@dampl/runtime';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new ConfigError(`--shard must be i/n with 1 <= i <= n, got '${s}'`, 'e.g. --shard 1/3 on the first of three machines');
  }
  return { index, count };
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
  return !shard || shardOf(cell.key, shard.count) === shard.index;
}
