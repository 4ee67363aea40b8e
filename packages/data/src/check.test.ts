import { copyFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDataset, formatCheckReport } from './check.js';
import { miniDomainNet } from './datasets/mini-domainnet.js';
import { officeHome } from './datasets/office-home.js';
import { imageFolderIndex } from './image-folder.js';
import { crossDomainTasks } from './tasks.js';
import { tempDir, writeImage, writeText } from './testing.js';
import type { Dataset } from './dataset.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** A mini-DomainNet tree, sound: one image per line, labels from the class order. */
async function soundMiniDomainNet(root: string): Promise<void> {
  for (const d of ['clipart', 'painting', 'real', 'sketch']) {
    for (const split of ['train', 'test']) {
      const files = [`${d}/zebra/${d}_${split}_1.jpg`, `${d}/umbrella/${d}_${split}_2.jpg`];
      for (const f of files) await writeImage(path.join(root, f));
      await writeText(path.join(root, 'splits_mini', `${d}_${split}.txt`), files.map((f) => `${f} ${f.includes('zebra') ? 4 : 0}`).join('\n') + '\n');
    }
  }
}

const toyDomains = [{ name: 'day', aliases: [] }, { name: 'night', aliases: [] }];
const toy: Dataset = {
  name: 'toy-check',
  domains: toyDomains,
  classes: ['cat', 'dog'],
  tasks: crossDomainTasks(toyDomains, (d) => d.name),
  splits: { names: ['all'], trainSource: 'all', trainTarget: 'all', testTarget: 'all' },
  metric: 'accuracy',
  index: (root, opts) => imageFolderIndex(root, { ...toy, onProblem: opts?.onProblem }),
  expectedCounts: { source: 'made up for the test', counts: { day: { all: 2 }, night: { all: 2 } } },
};

describe('checkDataset', () => {
  it('finds nothing wrong in a sound tree', async () => {
    for (const d of ['day', 'night']) for (const c of ['cat', 'dog']) await writeImage(path.join(dir, d, c, '1.png'));
    const r = await checkDataset(toy, dir, { progress: 'off' });
    expect(r.ok).toBe(true);
    expect(r.problemCount).toBe(0);
    expect(r.counts).toEqual([
      { domain: 'day', split: 'all', found: 2, expected: 2, status: 'ok' },
      { domain: 'night', split: 'all', found: 2, expected: 2, status: 'ok' },
    ]);
    expect(r.images).toEqual({ total: 4, checked: 4, sampled: false, deep: false });
    expect(formatCheckReport(r)).toMatch(/^toy-check at .*: no problems found/);
  });

  it('reports counts against the published sizes', async () => {
    for (const c of ['cat', 'dog']) await writeImage(path.join(dir, 'day', c, '1.png'));
    await writeImage(path.join(dir, 'night', 'cat', '1.png'));
    const r = await checkDataset(toy, dir, { progress: 'off' });
    expect(r.ok).toBe(false);
    expect(r.counts[1]).toEqual({ domain: 'night', split: 'all', found: 1, expected: 2, status: 'mismatch' });
    expect(r.emptyClasses).toEqual([{ domain: 'night', split: 'all', classes: ['dog'] }]);
    const text = formatCheckReport(r);
    expect(text).toContain('MISMATCH (-1)');
    expect(text).toContain('warning: night/all has no image of 1 class: dog');

    const oh = await tempDir();
    try {
      for (const d of ['Art', 'Clipart', 'Product', 'Real_World']) await writeImage(path.join(oh.dir, d, 'Bed', '1.jpg'));
      const ohr = await checkDataset(officeHome, oh.dir, { progress: 'off' });
      expect(ohr.counts.map((c) => [c.domain, c.found, c.expected])).toEqual([['Art', 1, 2427], ['Clipart', 1, 4365], ['Product', 1, 4439], ['Real_World', 1, 4357]]);
      expect(ohr.problemCount).toBe(4);
    } finally {
      await oh.cleanup();
    }
  });

  it('reports a damaged tree: a missing file, a corrupt image, a duplicate, a line and a link leaving the root', async () => {
    await soundMiniDomainNet(dir);
    const outside = await tempDir();
    try {
      const list = path.join(dir, 'splits_mini', 'clipart_train.txt');
      await writeImage(path.join(outside.dir, 'elsewhere.jpg'));
      await symlink(path.join(outside.dir, 'elsewhere.jpg'), path.join(dir, 'clipart', 'zebra', 'linked.jpg'));
      await writeFile(path.join(dir, 'clipart', 'zebra', 'corrupt.jpg'), Buffer.from('not a jpeg at all, just text'));
      await copyFile(path.join(dir, 'clipart/zebra/clipart_train_1.jpg'), path.join(dir, 'clipart/zebra/copy.jpg'));
      await writeText(list, [
        'clipart/zebra/clipart_train_1.jpg 4',
        'clipart/umbrella/clipart_train_2.jpg 0',
        'clipart/zebra/gone.jpg 4',
        'clipart/zebra/corrupt.jpg 4',
        'clipart/zebra/copy.jpg 4',
        'clipart/zebra/../../../../etc/hostname 4',
        'clipart/zebra/linked.jpg 4',
      ].join('\n'));

      const r = await checkDataset(miniDomainNet, dir, { progress: 'off' });
      expect(r.ok).toBe(false);
      expect(r.missing).toEqual([{ path: path.join(dir, 'clipart/zebra/gone.jpg'), listed: 'splits_mini/clipart_train.txt:3' }]);
      expect(r.unreadable).toHaveLength(1);
      expect(r.unreadable[0]).toMatchObject({ path: path.join(dir, 'clipart/zebra/corrupt.jpg'), listed: 'splits_mini/clipart_train.txt:4' });
      expect(r.duplicates).toHaveLength(1);
      expect(r.duplicates[0]!.files.map((f) => path.relative(dir, f.path))).toEqual(['clipart/zebra/clipart_train_1.jpg', 'clipart/zebra/copy.jpg']);
      expect(r.duplicates[0]!.conflicting).toBe(false);
      expect(r.escapes.map((e) => e.listed)).toEqual(['splits_mini/clipart_train.txt:6', 'splits_mini/clipart_train.txt:7']);
      expect(r.escapes[0]!.reason).toContain('outside the dataset root');
      expect(r.escapes[1]!.reason).toContain('symbolic link');
      expect(r.problemCount).toBe(5);
      expect(r.counts.find((c) => c.domain === 'clipart' && c.split === 'train')).toEqual({ domain: 'clipart', split: 'train', found: 6, status: 'no-reference' });
      expect(r.notes.join(' ')).toContain('no published image counts');

      const text = formatCheckReport(r);
      expect(text).toMatch(/5 problems found/);
      expect(text).toContain('missing files (1)\n  clipart/zebra/gone.jpg  (splits_mini/clipart_train.txt:3)');
      expect(text).toContain('unreadable images (1 of 18 read)\n  clipart/zebra/corrupt.jpg  (splits_mini/clipart_train.txt:4): ');
      expect(text).toContain('duplicate contents (1)');
      expect(text).toContain('outside the root (refused) (2)\n  splits_mini/clipart_train.txt:6: "clipart/zebra/../../../../etc/hostname" resolves outside');

      const allowed = await checkDataset(miniDomainNet, dir, { progress: 'off', allowDuplicates: true, hash: true });
      expect(allowed.problemCount).toBe(4);
    } finally {
      await outside.cleanup();
    }
  });

  it('reads a seeded sample of the images when asked', async () => {
    await soundMiniDomainNet(dir);
    const a = await checkDataset(miniDomainNet, dir, { progress: 'off', sample: 3, seed: 1, hash: false });
    expect(a.images).toEqual({ total: 16, checked: 3, sampled: true, deep: false });
    expect(a.hashed).toBe(0);
    const deep = await checkDataset(miniDomainNet, dir, { progress: 'off', deep: true });
    expect(deep.ok).toBe(true);
    expect(deep.images.deep).toBe(true);
  });
});
