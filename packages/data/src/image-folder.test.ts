import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageFolderIndex } from './image-folder.js';
import { tempDir, writeImage } from './testing.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('imageFolderIndex', () => {
  it('finds the classes of every domain, sorted by name, and the image files only', async () => {
    await writeImage(path.join(dir, 'photo', 'zebra', 'b.png'));
    await writeImage(path.join(dir, 'photo', 'zebra', 'a.JPG'));
    await writeImage(path.join(dir, 'photo', 'Apple', 'a.webp'));
    await writeImage(path.join(dir, 'sketch', 'mango', 'a.jpeg'));
    await writeFile(path.join(dir, 'photo', 'zebra', 'notes.txt'), 'not an image');
    await writeFile(path.join(dir, 'photo', 'zebra', '.hidden.jpg'), 'hidden');
    const idx = await imageFolderIndex(dir, { domains: ['photo', 'sketch'] });
    expect(idx.classes).toEqual(['Apple', 'mango', 'zebra']);
    expect(idx.items.map((i) => [path.relative(dir, i.path), i.label, i.domain, i.split])).toEqual([
      ['photo/Apple/a.webp', 0, 'photo', 'all'],
      ['photo/zebra/a.JPG', 2, 'photo', 'all'],
      ['photo/zebra/b.png', 2, 'photo', 'all'],
      ['sketch/mango/a.jpeg', 1, 'sketch', 'all'],
    ]);
    expect(idx.tasks.map((t) => t.name)).toEqual(['photo-sketch', 'sketch-photo']);
    expect(idx.classCounts('sketch')).toEqual([0, 1, 0]);
    expect(idx.counts()).toEqual([{ domain: 'photo', split: 'all', count: 3 }, { domain: 'sketch', split: 'all', count: 1 }]);
  });

  it('uses given classes and finds a domain folder by alias', async () => {
    await writeImage(path.join(dir, 'P', 'cat', '1.png'));
    const idx = await imageFolderIndex(dir, { name: 'pets', domains: [{ name: 'photo', aliases: ['P'] }], classes: ['dog', 'cat'] });
    expect(idx.dataset).toBe('pets');
    expect(idx.items[0]!.label).toBe(1);
    expect(idx.classNames).toEqual(['dog', 'cat']);
  });
});
