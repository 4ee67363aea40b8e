import { describe, expect, it } from 'vitest';
import { anchorsFor, backboneName, loadAnchors, publishedNamesFor } from './anchors.js';
import { perfMarkdown } from './perf.js';

describe('published figures', () => {
  it('every row names its method, backbone and source, with figures in percent', () => {
    const a = loadAnchors();
    expect(a.rows.length).toBeGreaterThan(20);
    for (const r of a.rows) {
      expect(r.method && r.backbone && r.source).toBeTruthy();
      const all = [...Object.values(r.figures), ...Object.values(r.tasks).flatMap((t) => Object.values(t))];
      expect(all.length).toBeGreaterThan(0);
      for (const v of all) expect(v > 0 && v < 100).toBe(true);
    }
  });

  it('splits rows by backbone for a dataset', () => {
    const { matched, other } = anchorsFor(loadAnchors(), 'office-home', 'ViT-B/16');
    expect(matched.map((r) => r.method)).toEqual(['CLIP zero-shot', 'CLIP fine-tune (source)', 'DAPL', 'CLIP zero-shot', 'CoOp (source prompts)', 'DAPL (rerun)', 'PDA', 'AD-CLIP', 'CMKD (full fine-tuning, not prompts)']);
    expect(other.some((r) => r.method === 'DAMPL')).toBe(true);
    expect(other.some((r) => r.backbone === 'ViT-B/16 (ImageNet) fine-tuned')).toBe(true);
    expect(anchorsFor(loadAnchors(), 'synth', 'ViT-B/16')).toEqual({ matched: [], other: [] });
    expect(anchorsFor(loadAnchors(), 'visda-2017', undefined).matched).toEqual([]);
  });

  it('maps method names and models to their published names', () => {
    expect(publishedNamesFor('dapl')).toEqual(['DAPL', 'DAPL (rerun)']);
    expect(publishedNamesFor('dampl@full')).toEqual(['DAMPL']);
    expect(publishedNamesFor('my-method')).toEqual([]);
    expect(backboneName('openai/clip-vit-base-patch16')).toBe('ViT-B/16');
    const b16 = { embedDim: 512, vision: { kind: 'vit' as const, imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 }, text: { contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12 } };
    expect(backboneName('/models/clip-b16', b16)).toBe('ViT-B/16');
    expect(backboneName('/models/tiny', { ...b16, vision: { ...b16.vision, width: 64, layers: 1 } })).toBeUndefined();
  });

});

describe('results/perf/README.md', () => {
  it('lists the machine and a table per suite', () => {
    const md = perfMarkdown(
      [{ name: 'clip.json', data: { suite: 'clip', date: '2026-01-01', machine: { cpu: 'X', cpus: 2 }, results: [{ backend: 'wasm', task: 'image', seconds: 1.23456 }, { backend: 'cpu', task: 'text', seconds: null, note: 'skipped' }] } }],
      { cpu: 'X × 2', 'backend selected by default': 'wasm: wasm (XNNPACK, 1 thread)' },
    );
    expect(md).toContain('- backend selected by default: wasm: wasm (XNNPACK, 1 thread)');
    expect(md).toContain('## clip (clip.json)');
    expect(md).toContain('| backend | task | seconds | note |');
    expect(md).toContain('| wasm | image | 1.235 |  |');
    expect(md).toContain('| cpu | text |  | skipped |');
  });
});
