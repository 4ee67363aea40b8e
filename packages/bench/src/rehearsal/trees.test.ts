import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { miniDomainNet, officeHome } from '@dampl/data';
import { MINI_DOMAINNET_SHAPE, OFFICE_HOME_SHAPE, imagesAt, writeTree } from './trees.js';

let tmp: string;
beforeAll(async () => { tmp = await mkdtemp(path.join(os.tmpdir(), 'rehearsal-trees-')); });
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('rehearsal trees', () => {
  it('keeps every class at any fraction and refuses fractions outside (0, 1]', () => {
    expect(imagesAt(2427, 0.05, 65)).toBe(121);
    expect(imagesAt(2427, 0.001, 65)).toBe(65);
    expect(() => imagesAt(100, 0, 5)).toThrow(/--fraction must be in \(0, 1\]/);
    expect(() => imagesAt(100, 1.5, 5)).toThrow(/--fraction/);
  });

  it("writes an Office-Home tree that the dataset's loader indexes, every class present, JPEGs of the stated sizes", async () => {
    const t = await writeTree(OFFICE_HOME_SHAPE, path.join(tmp, 'oh'), 0.001, 3);
    const index = await officeHome.index(t.root);
    expect(index.items.length).toBe(4 * 65);
    for (const d of ['Art', 'Clipart', 'Product', 'Real_World']) {
      const items = index.items.filter((i) => i.domain === d);
      expect(items.length).toBe(t.written[d]!.all);
      expect(new Set(items.map((i) => i.label)).size).toBe(65);
    }
    const meta = await sharp(index.items[0]!.path).metadata();
    expect(meta.format).toBe('jpeg');
    for (const side of [meta.width!, meta.height!]) expect(side >= 300 && side <= 600).toBe(true);
  });

  it("writes a mini-DomainNet tree with its split lists, read by the dataset's loader", async () => {
    const t = await writeTree(MINI_DOMAINNET_SHAPE, path.join(tmp, 'dn'), 0.001, 4);
    const index = await miniDomainNet.index(t.root);
    for (const d of ['clipart', 'painting', 'real', 'sketch']) {
      for (const split of ['train', 'test']) {
        const items = index.items.filter((i) => i.domain === d && i.split === split);
        expect(items.length).toBe(t.written[d]![split]);
        expect(new Set(items.map((i) => i.label)).size).toBe(126);
      }
    }
    const meta = await sharp(index.items[0]!.path).metadata();
    expect([meta.width, meta.height]).toEqual([96, 96]);
  });
});
