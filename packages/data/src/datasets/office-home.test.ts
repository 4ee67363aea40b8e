import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DamplError, FormatError } from '@dampl/runtime';
import { tempDir, writeImage } from '../testing.js';
import { OFFICE_HOME_CLASSES, OFFICE_HOME_CLASS_NAMES, officeHome } from './office-home.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** Two classes per domain, `n` images each. */
async function tree(root: string, domainFolders: string[], classFolders: string[], n = 2): Promise<void> {
  for (const d of domainFolders) for (const c of classFolders) for (let i = 0; i < n; i++) await writeImage(path.join(root, d, c, `${String(i).padStart(5, '0')}.jpg`));
}

describe('office-home', () => {
  it('has the 65 published classes, sorted, with prompt names', () => {
    expect(OFFICE_HOME_CLASSES).toHaveLength(65);
    expect(new Set(OFFICE_HOME_CLASSES).size).toBe(65);
    expect(OFFICE_HOME_CLASSES[0]).toBe('Alarm_Clock');
    expect(OFFICE_HOME_CLASSES).toContain('ToothBrush');
    expect(OFFICE_HOME_CLASSES).toContain('Postit_Notes');
    expect(OFFICE_HOME_CLASS_NAMES[0]).toBe('alarm clock');
    expect(OFFICE_HOME_CLASS_NAMES[OFFICE_HOME_CLASSES.indexOf('Trash_Can')]).toBe('trash can');
  });

  it('has the 12 tasks named as in the published tables', () => {
    expect(officeHome.tasks.map((t) => t.name)).toEqual(['A-C', 'A-P', 'A-R', 'C-A', 'C-P', 'C-R', 'P-A', 'P-C', 'P-R', 'R-A', 'R-C', 'R-P']);
    expect(officeHome.tasks[2]).toEqual({ source: 'Art', target: 'Real_World', name: 'A-R' });
    expect(officeHome.metric).toBe('accuracy');
  });

  it('indexes the TLlib naming (Art, Clipart, Product, Real_World)', async () => {
    await tree(dir, ['Art', 'Clipart', 'Product', 'Real_World'], ['Alarm_Clock', 'Backpack']);
    const idx = await officeHome.index(dir);
    expect(idx.items).toHaveLength(16);
    expect(idx.domains).toEqual(['Art', 'Clipart', 'Product', 'Real_World']);
    const art = idx.select('Art');
    expect(art.map((i) => [path.relative(dir, i.path), i.label])).toEqual([
      ['Art/Alarm_Clock/00000.jpg', 0], ['Art/Alarm_Clock/00001.jpg', 0], ['Art/Backpack/00000.jpg', 1], ['Art/Backpack/00001.jpg', 1],
    ]);
    expect(idx.classNames[1]).toBe('backpack');
    // Protocol: all source labelled; all target for training (unlabelled) and for evaluation.
    expect(idx.trainSource('A-C').every((i) => i.domain === 'Art')).toBe(true);
    expect(idx.trainSource('A-C')).toHaveLength(4);
    expect(idx.trainTarget('A-C')).toEqual(idx.testTarget('A-C'));
    expect(idx.testTarget('A-C').every((i) => i.domain === 'Clipart')).toBe(true);
    expect(idx.classCounts('Product')).toEqual([2, 2, ...new Array(63).fill(0)]);
  });

  it('indexes the Dassl naming (art, clipart, product, real_world, lower-case classes) with the same labels', async () => {
    await tree(dir, ['art', 'clipart', 'product', 'real_world'], ['alarm_clock', 'backpack', 'tv']);
    const idx = await officeHome.index(dir);
    expect(idx.items).toHaveLength(24);
    expect(idx.domains).toEqual(['Art', 'Clipart', 'Product', 'Real_World']);
    const labels = new Set(idx.select('Real_World').map((i) => OFFICE_HOME_CLASSES[i.label]));
    expect(labels).toEqual(new Set(['Alarm_Clock', 'Backpack', 'TV']));
    expect(path.relative(dir, idx.testTarget('C-R')[0]!.path)).toBe('real_world/alarm_clock/00000.jpg');
  });

  it('accepts "Real World" as in the official archive', async () => {
    await tree(dir, ['Art', 'Clipart', 'Product', 'Real World'], ['Bed'], 1);
    const idx = await officeHome.index(dir);
    expect(idx.select('Real_World')).toHaveLength(1);
  });

  it('says which root is missing and how to get it', async () => {
    const root = path.join(dir, 'nowhere');
    const err = await officeHome.index(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    expect((err as Error).message).toContain(root);
    expect((err as Error).message).toContain('dampl data download office-home');
    expect((err as Error).message).toContain('Real_World/<class>/*.jpg');
  });

  it('names a missing domain folder and the spellings it looked for', async () => {
    await tree(dir, ['Art', 'Clipart', 'Product'], ['Bed'], 1);
    const err = await officeHome.index(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    expect((err as Error).message).toMatch(/Real_World \(looked for Real_World\/, real_world\/, Real World\//);
  });

  it('refuses an unknown class folder and a link out of the root, or collects them', async () => {
    await tree(dir, ['Art', 'Clipart', 'Product', 'Real_World'], ['Bed'], 1);
    await mkdir(path.join(dir, 'Art', 'Spaceship'));
    await expect(officeHome.index(dir)).rejects.toBeInstanceOf(FormatError);

    const outside = await tempDir();
    try {
      await writeImage(path.join(outside.dir, 'x.jpg'));
      await symlink(path.join(outside.dir, 'x.jpg'), path.join(dir, 'Clipart', 'Bed', 'link.jpg'));
      const idx = await officeHome.index(dir, { onProblem: 'collect' });
      expect(idx.problems.map((p) => p.kind).sort()).toEqual(['escapes-root', 'unknown-class']);
      expect(idx.items.some((i) => i.path.endsWith('link.jpg'))).toBe(false);
      expect(idx.items).toHaveLength(4);
    } finally {
      await outside.cleanup();
    }
  });
});
