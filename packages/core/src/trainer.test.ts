import '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dampl/runtime';
import { BatchStream, stepsPerEpoch } from './trainer.js';

describe('batches', () => {
  it('drop the last incomplete batch and reshuffle when a set runs out, as Dassl loaders', () => {
    const s = new BatchStream(10, 4, new Rng(1));
    expect(s.dropLast).toBe(true);
    expect(s.perPass).toBe(2);
    s.restart();
    const pass1 = [...s.next(), ...s.next()];
    expect(new Set(pass1).size).toBe(8);
    const next = s.next(); // 2 left < 4: a new shuffle starts
    expect(next.length).toBe(4);
    const t = new BatchStream(3, 8, new Rng(1));
    expect(t.dropLast).toBe(false);
    expect(t.perPass).toBe(1);
    expect([...t.next()].sort()).toEqual([0, 1, 2]);
  });

  it('are reproducible from the generator state', () => {
    const a = new BatchStream(50, 8, new Rng(5));
    a.restart();
    a.next();
    const state = a.rng.state();
    const b = new BatchStream(50, 8, new Rng(99));
    b.rng.setState(state);
    a.restart();
    b.restart();
    expect([...b.next()]).toEqual([...a.next()]);
  });

  it('count the steps of an epoch by source (DAPL), target, the smaller or the larger set', () => {
    const src = new BatchStream(100, 32, new Rng(1));
    const tgt = new BatchStream(300, 32, new Rng(2));
    expect(stepsPerEpoch({ countIter: 'source' }, src, tgt)).toBe(3);
    expect(stepsPerEpoch({ countIter: 'target' }, src, tgt)).toBe(9);
    expect(stepsPerEpoch({ countIter: 'smaller' }, src, tgt)).toBe(3);
    expect(stepsPerEpoch({ countIter: 'larger' }, src, tgt)).toBe(9);
  });
});
