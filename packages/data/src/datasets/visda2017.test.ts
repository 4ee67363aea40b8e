import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DamplError } from '@dampl/runtime';
import { tempDir, writeImage, writeText } from '../testing.js';
import { VISDA2017_CLASSES, visda2017 } from './visda2017.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function tree(root: string): Promise<void> {
  const train = ['aeroplane/src_1_02691156_10155655850468db78d106ce0a280f87__1_1_001.png 0', 'truck/src_1_04467665_0a2e1ba6d9d1c5e6a3d5ed4c3e9e1d1f__9_1_003.png 11'];
  const val = ['aeroplane/aeroplane_0001.jpg 0', 'knife/knife_0002.jpg 5', 'person/person_0003.jpg 7'];
  for (const l of train) await writeImage(path.join(root, 'train', l.split(' ')[0]!));
  for (const l of val) await writeImage(path.join(root, 'validation', l.split(' ')[0]!));
  await writeText(path.join(root, 'train', 'image_list.txt'), train.join('\n') + '\n');
  await writeText(path.join(root, 'validation', 'image_list.txt'), val.join('\n') + '\n');
}

describe('visda-2017', () => {
  it('has 12 classes in the official id order, one task and the mean-class metric', () => {
    expect(VISDA2017_CLASSES).toEqual(['aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle', 'person', 'plant', 'skateboard', 'train', 'truck']);
    expect(visda2017.tasks).toEqual([{ source: 'synthetic', target: 'real', name: 'synthetic-real' }]);
    expect(visda2017.metric).toBe('mean-class');
    expect(visda2017.download!.archives.map((a) => a.url)).toEqual(['http://csr.bu.edu/ftp/visda17/clf/train.tar', 'http://csr.bu.edu/ftp/visda17/clf/validation.tar']);
  });

  it('reads train/ and validation/ image lists relative to their folders', async () => {
    await tree(dir);
    const idx = await visda2017.index(dir);
    expect(idx.trainSource('synthetic-real').map((i) => [path.relative(dir, i.path), i.label, i.domain])).toEqual([
      ['train/aeroplane/src_1_02691156_10155655850468db78d106ce0a280f87__1_1_001.png', 0, 'synthetic'],
      ['train/truck/src_1_04467665_0a2e1ba6d9d1c5e6a3d5ed4c3e9e1d1f__9_1_003.png', 11, 'synthetic'],
    ]);
    expect(idx.testTarget('synthetic-real').map((i) => i.label)).toEqual([0, 5, 7]);
    expect(idx.trainTarget('syn->real')).toEqual(idx.testTarget('synthetic-real'));
    expect(idx.testTarget('synthetic-real')[1]!.listed).toEqual({ file: path.join(dir, 'validation', 'image_list.txt'), line: 2 });
  });

  it('collects a label outside 0..11, a label contradicting its folder and a line leaving the root', async () => {
    await tree(dir);
    await writeText(path.join(dir, 'validation', 'image_list.txt'), ['knife/a.jpg 12', 'knife/b.jpg 3', '../../../x.jpg 1', '../train/truck/c.png 11'].join('\n'));
    const idx = await visda2017.index(dir, { onProblem: 'collect' });
    expect(idx.problems.map((p) => p.kind)).toEqual(['bad-label', 'label-mismatch', 'escapes-root']);
    expect(idx.select('real').map((i) => path.relative(dir, i.path))).toEqual(['train/truck/c.png']);
  });

  it('names a missing image list', async () => {
    await tree(dir);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, 'validation'), { recursive: true });
    const err = await visda2017.index(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamplError);
    expect((err as Error).message).toContain('validation/image_list.txt');
    expect((err as Error).message).toContain('dampl data download visda-2017');
  });
});
