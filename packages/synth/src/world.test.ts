import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDataset } from '@dampl/data';
import { SYNTH_CLASSES } from './render.js';
import { SYNTH_DOMAINS } from './style-types.js';
import { type SynthCaptionRecord, type SynthManifest, generateSynthWorld, synthDomainsAndClasses } from './world.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'synth-world-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const small = { perClass: { adapt: 2, pretrain: 1 }, size: 32 } as const;

async function manifestText(root: string, split: string): Promise<string> {
  return readFile(path.join(root, split, 'manifest.json'), 'utf8');
}

describe('generateSynthWorld', () => {
  it('writes both splits in the image-folder layout with manifests and captions', async () => {
    const root = path.join(tmp, 'a');
    const res = await generateSynthWorld({ root, seed: 7, ...small });
    const adapt = res.splits.adapt!;
    expect(adapt.written).toBe(SYNTH_DOMAINS.length * SYNTH_CLASSES.length * 2);
    expect(adapt.manifest.counts.total).toBe(adapt.written);
    for (const d of SYNTH_DOMAINS) {
      const classes = (await readdir(path.join(root, 'adapt', d.folder))).sort();
      expect(classes).toEqual(SYNTH_CLASSES.map((c) => c.folder).sort());
      expect(await readdir(path.join(root, 'adapt', d.folder, 'car'))).toEqual(['0000.png', '0001.png']);
    }
    const m = JSON.parse(await manifestText(root, 'pretrain')) as SynthManifest;
    expect(m.split).toBe('pretrain');
    expect(m.seed).toBe(7);
    expect(m.counts.total).toBe(SYNTH_DOMAINS.length * SYNTH_CLASSES.length);
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    const lines = (await readFile(path.join(root, 'pretrain', 'captions.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(m.counts.total);
    const recs = lines.map((l) => JSON.parse(l) as SynthCaptionRecord);
    const names = new Map(SYNTH_CLASSES.map((c) => [c.folder, c.name]));
    for (const r of recs) {
      expect(Object.keys(m.files)).toContain(r.path);
      expect(r.caption).toContain(names.get(r.class));
      expect(r.caption).toContain(r.colour);
      expect(r.path.startsWith(`${r.domain}/${r.class}/`)).toBe(true);
    }
    expect(new Set(recs.map((r) => r.caption.split(' of ')[0])).size).toBeGreaterThan(3);
  });

  it('is deterministic: same seed, same manifest; another seed, other files', async () => {
    const b = path.join(tmp, 'b');
    const c = path.join(tmp, 'c');
    await generateSynthWorld({ root: b, seed: 7, ...small });
    await generateSynthWorld({ root: c, seed: 8, ...small });
    for (const split of ['adapt', 'pretrain']) {
      expect(await manifestText(b, split)).toBe(await manifestText(path.join(tmp, 'a'), split));
      const mb = JSON.parse(await manifestText(b, split)) as SynthManifest;
      const mc = JSON.parse(await manifestText(c, split)) as SynthManifest;
      expect(mc.sha256).not.toBe(mb.sha256);
      expect(mc.pixelsSha256).not.toBe(mb.pixelsSha256);
    }
    const f = 'adapt/sketch/key/0001.png';
    expect((await readFile(path.join(b, f))).equals(await readFile(path.join(tmp, 'a', f)))).toBe(true);
    expect(await readFile(path.join(b, 'pretrain/captions.jsonl'), 'utf8')).toBe(
      await readFile(path.join(tmp, 'a', 'pretrain/captions.jsonl'), 'utf8'),
    );
  });

  it('keeps the splits on separate seed streams', async () => {
    const a = path.join(tmp, 'a');
    const adapt = JSON.parse(await manifestText(a, 'adapt')) as SynthManifest;
    const pre = JSON.parse(await manifestText(a, 'pretrain')) as SynthManifest;
    expect(adapt.files['photo/car/0000.png'].pixels).not.toBe(pre.files['photo/car/0000.png'].pixels);
  });

  it('skips existing files on a rerun, repairs changed ones and removes leftovers', async () => {
    const root = path.join(tmp, 'a');
    const before = await manifestText(root, 'adapt');
    const again = await generateSynthWorld({ root, seed: 7, ...small, split: 'adapt' });
    expect(again.splits.adapt!.written).toBe(0);
    expect(again.splits.adapt!.skipped).toBe(SYNTH_DOMAINS.length * SYNTH_CLASSES.length * 2);
    expect(await manifestText(root, 'adapt')).toBe(before);

    const victim = path.join(root, 'adapt/photo/tree/0001.png');
    const good = await readFile(victim);
    await writeFile(victim, 'not a png');
    await writeFile(path.join(root, 'adapt/photo/tree/0007.png'), 'left over');
    const repaired = await generateSynthWorld({ root, seed: 7, ...small, split: 'adapt' });
    expect(repaired.splits.adapt!.written).toBe(1);
    expect(repaired.splits.adapt!.removed).toBe(1);
    expect((await readFile(victim)).equals(good)).toBe(true);
    expect(await readdir(path.join(root, 'adapt/photo/tree'))).toEqual(['0000.png', '0001.png']);
    expect(await manifestText(root, 'adapt')).toBe(before);
  });

  it('writes only the requested split, classes and domains', async () => {
    const root = path.join(tmp, 'd');
    const res = await generateSynthWorld({ root, seed: 1, split: 'adapt', perClass: 3, size: 24, classes: ['car', 'key'], domains: ['sketch'] });
    expect(res.splits.pretrain).toBeUndefined();
    expect(res.splits.adapt!.manifest.counts).toEqual({ total: 6, perDomain: { sketch: 6 } });
    expect(await readdir(path.join(root, 'adapt', 'sketch'))).toEqual(['car', 'key']);
    await expect(stat(path.join(root, 'pretrain'))).rejects.toThrow();
  });

  it('rejects unknown options, classes and domains by name', async () => {
    const root = path.join(tmp, 'e');
    await expect(generateSynthWorld({ root, perclass: 3 } as never)).rejects.toThrow(/unknown synth world option "perclass"/);
    await expect(generateSynthWorld({ root, classes: ['zebra'] })).rejects.toThrow(/unknown synth class "zebra"/);
    await expect(generateSynthWorld({ root, domains: ['real' as never] })).rejects.toThrow(/unknown synth domain "real"/);
    await expect(generateSynthWorld({ root, perClass: -1 })).rejects.toThrow(/perClass/);
  });
});

describe('the synth dataset', () => {
  it('lists the domains and classes', () => {
    const dc = synthDomainsAndClasses();
    expect(dc.domains.map((d) => d.name)).toEqual(['photo', 'clipart', 'sketch', 'painting']);
    expect(dc.classes).toHaveLength(SYNTH_CLASSES.length);
    expect(dc.classNames).toContain('alarm clock');
  });

  it('is registered and indexes a generated world from its root or its adapt folder', async () => {
    await import('./register.js');
    const ds = getDataset('synth');
    expect(ds.tasks).toHaveLength(12);
    expect(ds.tasks.map((t) => t.name)).toContain('ph-cl');
    for (const root of [path.join(tmp, 'a'), path.join(tmp, 'a', 'adapt')]) {
      const index = await ds.index(root);
      expect(index.items).toHaveLength(SYNTH_DOMAINS.length * SYNTH_CLASSES.length * 2);
      const item = index.items.find((it) => it.path.endsWith(path.join('clipart', 'alarm_clock', '0001.png')))!;
      expect(ds.classes[item.label]).toBe('alarm_clock');
      expect(item.domain).toBe('clipart');
    }
  });
});
