import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DamplError, FormatError } from '@dampl/runtime';
import { tempDir, writeImage, writeText } from '../testing.js';
import { MINI_DOMAINNET_CLASSES, miniDomainNet } from './mini-domainnet.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const DOMAINS = ['clipart', 'painting', 'real', 'sketch'];
const cls = (name: string): number => MINI_DOMAINNET_CLASSES.indexOf(name);

/** Per domain: train has aircraft_carrier x2 and zebra x1, test has zebra x1. */
async function tree(root: string, column: (label: number) => number = (l) => l): Promise<void> {
  for (const d of DOMAINS) {
    const train = [`${d}/aircraft_carrier/${d}_001_000018.jpg`, `${d}/aircraft_carrier/${d}_001_000019.jpg`, `${d}/zebra/${d}_345_000001.jpg`];
    const test = [`${d}/zebra/${d}_345_000002.jpg`];
    for (const p of [...train, ...test]) await writeImage(path.join(root, p));
    const line = (p: string): string => `${p} ${column(cls(p.split('/')[1]!))}`;
    await writeText(path.join(root, 'splits_mini', `${d}_train.txt`), train.map(line).join('\n') + '\n');
    await writeText(path.join(root, 'splits_mini', `${d}_test.txt`), test.map(line).join('\r\n') + '\r\n');
  }
}

describe('mini-domainnet', () => {
  it('has 4 domains, 126 classes and the 12 tasks "c-p" ...', () => {
    expect(miniDomainNet.domains.map((d) => d.name)).toEqual(DOMAINS);
    expect(MINI_DOMAINNET_CLASSES).toHaveLength(126);
    expect(new Set(MINI_DOMAINNET_CLASSES).size).toBe(126);
    expect(miniDomainNet.tasks.map((t) => t.name)).toEqual(['c-p', 'c-r', 'c-s', 'p-c', 'p-r', 'p-s', 'r-c', 'r-p', 'r-s', 's-c', 's-p', 's-r']);
    expect(miniDomainNet.splits).toMatchObject({ trainSource: 'train', trainTarget: 'train', testTarget: 'test' });
    expect(miniDomainNet.expectedCounts).toBeUndefined();
    expect(miniDomainNet.classNames![cls('The_Eiffel_Tower')]).toBe('The Eiffel Tower');
  });

  it('reads the split files: source train, target train (unlabelled) and target test', async () => {
    await tree(dir);
    const idx = await miniDomainNet.index(dir);
    expect(idx.items).toHaveLength(16);
    const src = idx.trainSource('c-p');
    expect(src.map((i) => [path.relative(dir, i.path), i.label, i.domain, i.split])).toEqual([
      ['clipart/aircraft_carrier/clipart_001_000018.jpg', cls('aircraft_carrier'), 'clipart', 'train'],
      ['clipart/aircraft_carrier/clipart_001_000019.jpg', cls('aircraft_carrier'), 'clipart', 'train'],
      ['clipart/zebra/clipart_345_000001.jpg', cls('zebra'), 'clipart', 'train'],
    ]);
    expect(idx.trainTarget('c-p').map((i) => path.relative(dir, i.path))).toEqual([
      'painting/aircraft_carrier/painting_001_000018.jpg', 'painting/aircraft_carrier/painting_001_000019.jpg', 'painting/zebra/painting_345_000001.jpg',
    ]);
    expect(idx.testTarget('c-p').map((i) => [path.relative(dir, i.path), i.split])).toEqual([['painting/zebra/painting_345_000002.jpg', 'test']]);
    expect(src[0]!.listed).toEqual({ file: path.join(dir, 'splits_mini', 'clipart_train.txt'), line: 1 });
    expect(idx.counts().find((c) => c.domain === 'sketch' && c.split === 'test')!.count).toBe(1);
    expect(idx.notes).toEqual([]);
  });

  it('takes labels from the class folder and notes a label column numbered otherwise', async () => {
    await tree(dir, (l) => 125 - l);
    const idx = await miniDomainNet.index(dir);
    expect(idx.testTarget('c-r')[0]!.label).toBe(cls('zebra'));
    expect(idx.notes[0]).toMatch(/^16 list lines number their class differently/);
  });

  it('refuses a line that leaves the root, naming the file and line', async () => {
    await tree(dir);
    await writeText(path.join(dir, 'splits_mini', 'sketch_train.txt'), 'sketch/zebra/sketch_345_000001.jpg 4\n../../etc/zebra/passwd 4\n');
    const err = await miniDomainNet.index(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toContain('splits_mini/sketch_train.txt:2');
    expect((err as Error).message).toContain('outside the dataset root');
  });

  it('collects unknown classes, contradicting labels and malformed lines', async () => {
    await tree(dir);
    await writeText(
      path.join(dir, 'splits_mini', 'clipart_test.txt'),
      ['clipart/unicorn/x.jpg 3', 'clipart/zebra/a.jpg 4', 'clipart/zebra/b.jpg 5', 'just-a-path.jpg', 'clipart/zebra/c.jpg four'].join('\n'),
    );
    const idx = await miniDomainNet.index(dir, { onProblem: 'collect' });
    expect(idx.problems.map((p) => [p.kind, p.line])).toEqual([
      ['unknown-class', 1], ['label-mismatch', 3], ['malformed-line', 4], ['malformed-line', 5],
    ]);
  });

  it('lists the missing split files and domain folders', async () => {
    await tree(dir);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, 'splits_mini', 'painting_test.txt'));
    await rm(path.join(dir, 'sketch'), { recursive: true });
    const err = await miniDomainNet.index(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    expect((err as Error).message).toContain('splits_mini/painting_test.txt, sketch/');
    expect((err as Error).message).toContain('dampl data download mini-domainnet');
  });
});
