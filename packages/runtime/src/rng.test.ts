import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { createLogger, progress } from './log.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds and forks', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(42)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(42)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(43)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Rng(42).fork('init').nextU32()).not.toBe(new Rng(42).fork('order').nextU32());
    expect(new Rng(42).fork('init').nextU32()).toBe(new Rng(42).fork('init').nextU32());
  });

  it('has sane moments and a restorable state', () => {
    const r = new Rng(7);
    const xs = r.normalArray(20000);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const u = Array.from({ length: 10000 }, () => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const s = r.state();
    const next = [r.nextU32(), r.nextU32()];
    r.setState(s);
    expect([r.nextU32(), r.nextU32()]).toEqual(next);
    expect(new Rng(1).permutation(10).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
  });
});

describe('logging', () => {
  it('filters by level and scopes children', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l) });
    log.debug('hidden');
    log.info('shown');
    log.child('clip').warn('careful');
    expect(lines).toEqual(['shown', 'WARN [clip] careful']);
  });

  it('reports progress lines with rate and ETA when not on a terminal', () => {
    const lines: string[] = [];
    const p = progress({ total: 4, title: 'extract', unit: 'img', mode: 'lines', every: 0, sink: (l) => lines.push(l) });
    p.tick(2);
    p.tick(2, 'done');
    expect(lines.at(-1)).toMatch(/^extract: 4\/4 [\d.]+ img\/s ETA 0s done$/);
  });
});
