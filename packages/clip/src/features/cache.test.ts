import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '@dampl/runtime';
import { FeatureCache, cacheDirFor, canonicalJson, concatRows, identityHash, imageListHash, type CacheIdentity } from './cache.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'clip-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const identity: CacheIdentity = {
  dataset: 'office-home', domain: 'Real World', split: 'all', view: 0, weightsHash: 'abc',
  preprocess: { size: 224, mean: [1, 2, 3] }, images: { count: 2, sha256: imageListHash([{ key: 'a.jpg', label: 0 }, { key: 'b.jpg', label: 1 }]) },
};

describe('cache identity', () => {
  it('hashes independently of key order and changes with any field', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    const { weightsHash, ...rest } = identity;
    const reordered = { weightsHash, ...rest, images: { sha256: identity.images.sha256, count: 2 } };
    expect(identityHash(reordered)).toBe(identityHash(identity));
    expect(identityHash({ ...identity, preprocess: { size: 224, mean: [1, 2, 4] } })).not.toBe(identityHash(identity));
    expect(identityHash({ ...identity, view: 1 })).not.toBe(identityHash(identity));
    expect(imageListHash([{ key: 'a.jpg', label: 1 }])).not.toBe(imageListHash([{ key: 'a.jpg', label: 0 }]));
  });

  it('names directories readably, with the hash', () => {
    const dir = cacheDirFor(root, identity);
    expect(path.relative(root, dir)).toMatch(/^office-home\/Real_World\/all-view0-[0-9a-f]{16}$/);
  });
});

describe('row files', () => {
  it('round-trip and refuse a file of another cache', async () => {
    const a = FeatureCache.forIdentity(root, identity);
    const rows = concatRows([
      { features: Float32Array.from([1, 2, 3, 4]), labels: Int32Array.from([7, 8]), index: Int32Array.from([0, 1]), embedDim: 2 },
      { features: Float32Array.from([5, 6]), labels: Int32Array.from([9]), index: Int32Array.from([3]), embedDim: 2 },
    ], 2);
    await a.writeRows('chunk-00000.safetensors', rows);
    const back = await a.readRows('chunk-00000.safetensors', 3);
    expect(Array.from(back.features)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(back.index)).toEqual([0, 1, 3]);
    await expect(a.readRows('chunk-00000.safetensors', 4)).rejects.toThrow(FormatError);
    const b = new FeatureCache(a.dir, { ...identity, weightsHash: 'other' });
    await expect(b.readRows('chunk-00000.safetensors')).rejects.toThrow(/belongs to cache/);
    expect(await b.readManifest()).toBeUndefined();
    await a.writeManifest(a.newManifest(2, 256, 'test'));
    expect(await b.readManifest()).toEqual({ stale: expect.stringContaining('weightsHash') });
    expect(await a.readManifest()).toMatchObject({ hash: a.hash, total: 2 });
  });
});
