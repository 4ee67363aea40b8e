import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAnchors } from './anchors.js';
import { parseResultsCsv, resultsCsv } from './results.js';
import { stat, summarize, type DatasetTable, type MethodLine } from './summary.js';
import { renderSummary } from './summary-md.js';
import { protocolDifferences, runProtocol } from './protocol.js';

/**
 * summary.fixture.csv, by hand (percent):
 *   visda-2017 synthetic-real (ViT-B/16)
 *     zero-shot  seeds 1 2 3: 88.0 89.0 90.0   mean 89.0  std sqrt((1 + 0 + 1) / 2) = 1
 *     dapl       seeds 1 2 3: 89.5 90.5 90.0   mean 90.0  std sqrt((0.25 + 0.25 + 0) / 2) = 0.5
 *     dampl      seeds 1 2:   91.0 92.0        mean 91.5  std sqrt(0.5 / 1) = 0.70711
 *     dann       seed 1:      80.0             mean 80.0  no std
 *   office-home, tasks A-C and A-P only
 *     dapl       seed 1: A-C 70.0 A-P 90.0 (avg 80.0); seed 2: A-C 71.0 A-P 92.0 (avg 81.5)
 *                A-C 70.5 ± 0.70711, A-P 91.0 ± 1.41421, avg 80.75 ± sqrt(2 * 0.75^2) = 1.06066
 *     zero-shot  seed 1: A-C 68.0 A-P 89.5 (avg 78.75); seed 2: A-C 67.0, no A-P (no avg)
 *                A-C 67.5 ± 0.70711, A-P 89.5, avg 78.75 (seed 1 only)
 * Best epoch (oracle; zero-shot has no epochs):
 *     visda dapl 90.0 91.0 92.0 -> 91.0 ± 1.0; dampl 92.0 92.0 -> 92.0 ± 0; dann 81.0
 *     office-home dapl seed 1: A-C 71.0 A-P 90.0 (avg 80.5); seed 2: A-C 72.0 A-P 93.0 (avg 82.5) -> avg 81.5 ± 1.41421
 * Published ViT-B/16 (anchors.json), every one selected at the best epoch: VisDA CLIP zero-shot 88.7 (DAPL README) and 88.9 (PDA),
 * DAPL 89.8 (DAPL README), DAPL (rerun) 89.5 (PDA); Office-Home DAPL A-C 70.7 A-P 91.0,
 * CLIP zero-shot A-C 67.8 A-P 89.0.
 */
const csv = readFileSync(new URL('./fixtures/summary.fixture.csv', import.meta.url), 'utf8');

function table(tables: DatasetTable[], dataset: string): DatasetTable {
  return tables.find((t) => t.dataset === dataset)!;
}
function line(t: DatasetTable, method: string): MethodLine {
  return t.methods.find((m) => m.method === method)!;
}

describe('summary from a results table', () => {
  const rows = parseResultsCsv(csv, 'summary.fixture.csv');
  const s = summarize('real', rows, loadAnchors());

  it('reads the CSV back as it was written', () => {
    expect(rows).toHaveLength(16);
    expect(rows[0]).toMatchObject({ dataset: 'visda-2017', task: 'synthetic-real', method: 'zero-shot', seed: 1, value: 88, nTest: 100 });
    expect(parseResultsCsv(resultsCsv(rows))).toEqual(rows);
    expect(() => parseResultsCsv(csv.replace(',88.0,', ',eighty,'))).toThrow(/row 2: value is 'eighty', not a number/);
  });

  it('mean and sample std over seeds', () => {
    expect(stat([88, 89, 90])).toEqual({ mean: 89, std: 1, n: 3 });
    expect(stat([80]).std).toBeNull();
    const v = table(s.tables, 'visda-2017');
    expect(v.tasks).toEqual(['synthetic-real']);
    const zs = line(v, 'zero-shot').tasks['synthetic-real']!;
    expect(zs.mean).toBeCloseTo(89, 10);
    expect(zs.std).toBeCloseTo(1, 10);
    const dapl = line(v, 'dapl').tasks['synthetic-real']!;
    expect(dapl.mean).toBeCloseTo(90, 10);
    expect(dapl.std).toBeCloseTo(0.5, 10);
    const dampl = line(v, 'dampl').tasks['synthetic-real']!;
    expect(dampl.mean).toBeCloseTo(91.5, 10);
    expect(dampl.std).toBeCloseTo(Math.SQRT1_2, 10);
    expect(line(v, 'dann').tasks['synthetic-real']).toEqual({ mean: 80, std: null, n: 1 });
  });

  it('the average is taken per seed over the table\'s tasks; a seed missing a task is left out', () => {
    const o = table(s.tables, 'office-home');
    expect(o.tasks).toEqual(['A-C', 'A-P']);
    const dapl = line(o, 'dapl');
    expect(dapl.tasks['A-C']!.mean).toBeCloseTo(70.5, 10);
    expect(dapl.tasks['A-C']!.std).toBeCloseTo(0.70711, 5);
    expect(dapl.tasks['A-P']!.mean).toBeCloseTo(91, 10);
    expect(dapl.tasks['A-P']!.std).toBeCloseTo(1.41421, 5);
    expect(dapl.average!.mean).toBeCloseTo(80.75, 10);
    expect(dapl.average!.std).toBeCloseTo(1.06066, 5);
    const zs = line(o, 'zero-shot');
    expect(zs.tasks['A-P']).toEqual({ mean: 89.5, std: null, n: 1 });
    expect(zs.average).toEqual({ mean: 78.75, std: null, n: 1 });
    expect(zs.seeds).toEqual([1, 2]);
  });

  it('differences with the published figures of the same backbone only', () => {
    const v = table(s.tables, 'visda-2017');
    expect(v.backbone).toBe('ViT-B/16');
    const diffs = v.differences.map((d) => [d.method, d.published.method, d.published.source.slice(0, 3), d.tasks['synthetic-real'], d.average]);
    expect(diffs).toHaveLength(4);
    const [dapl, daplRerun, zsDapl, zsPda] = diffs;
    expect(dapl![0]).toBe('dapl');
    expect(dapl![1]).toBe('DAPL');
    expect(dapl![3]).toBeCloseTo(0.2, 10); // 90.0 - 89.8
    expect(dapl![4]).toBeCloseTo(0.2, 10);
    expect(daplRerun![1]).toBe('DAPL (rerun)');
    expect(daplRerun![4]).toBeCloseTo(0.5, 10); // 90.0 - 89.5
    expect(zsDapl!.slice(0, 3)).toEqual(['zero-shot', 'CLIP zero-shot', 'DAP']);
    expect(zsDapl![4]).toBeCloseTo(0.3, 10); // 89.0 - 88.7
    expect(zsPda!.slice(0, 3)).toEqual(['zero-shot', 'CLIP zero-shot', 'PDA']);
    expect(zsPda![4]).toBeCloseTo(0.1, 10); // 89.0 - 88.9
    // DAMPL's published figure gives no backbone, DANN's is a fine-tuned ResNet-101: listed apart
    expect(v.differences.some((d) => d.method === 'dampl' || d.method === 'dann')).toBe(false);
    expect(v.other.map((p) => `${p.row.method} / ${p.row.backbone}`)).toContain('DAMPL / unspecified in the abstract');
    expect(v.other.map((p) => `${p.row.method} / ${p.row.backbone}`)).toContain('DANN / ResNet-101 fine-tuned');
    expect(v.other.every((p) => p.row.backbone !== 'ViT-B/16')).toBe(true);
    expect(v.published.every((p) => p.row.backbone === 'ViT-B/16')).toBe(true);

    const o = table(s.tables, 'office-home');
    const od = o.differences.find((d) => d.method === 'dapl' && d.published.method === 'DAPL')!;
    expect(od.tasks['A-C']).toBeCloseTo(-0.2, 10); // 70.5 - 70.7
    expect(od.tasks['A-P']).toBeCloseTo(0, 10); // 91.0 - 91.0
    expect(od.average).toBeNull(); // 2 of 12 tasks: not comparable with the published mean
    const oz = o.differences.find((d) => d.method === 'zero-shot' && d.published.source.startsWith('DAPL'))!;
    expect(oz.tasks['A-C']).toBeCloseTo(-0.3, 10); // 67.5 - 67.8
    expect(oz.tasks['A-P']).toBeCloseTo(0.5, 10); // 89.5 - 89.0
  });

  it('renders the tables in Markdown', () => {
    const md = renderSummary(s, rows);
    expect(md).toContain('| zero-shot | 89.0 ± 1.0 | 89.0 ± 1.0 |');
    expect(md).toContain('| dapl | 90.0 ± 0.5 | 90.0 ± 0.5 |');
    expect(md).toContain('| dampl | 91.5 ± 0.7 | 91.5 ± 0.7 |');
    expect(md).toContain('| dann | 80.0 | 80.0 |');
    expect(md).toContain('| dapl | 70.5 ± 0.7 | 91.0 ± 1.4 | 80.8 ± 1.1 |');
    expect(md).toContain('| zero-shot | 67.5 ± 0.7 | 89.5 | 78.8 |');
    expect(md).toContain('| zero-shot | CLIP zero-shot (DAPL README) | last epoch | +0.3 | +0.3 | as published |');
    expect(md).toContain('| dapl | DAPL (DAPL README) | last epoch | -0.2 | +0.0 |  | selection: ours last epoch, published best epoch (oracle); '
      + 'views: ours one clean view, published a fresh augmentation every batch |');
    expect(md).not.toContain('best-epoch (oracle) |');
    expect(md).toContain('### Published with another or an unspecified backbone (not comparable with the table above)');
    expect(md).toContain('| DAMPL | unspecified in the abstract |');
    expect(md).toMatch(/- commit: 0123456789abcdef0123456789abcdef01234567\n/);
    expect(renderSummary(s, rows)).toBe(md);
  });

  it('with report best: the best epoch beside the last, compared with sources that report their best', () => {
    const b = summarize('real', rows, loadAnchors(), { report: 'best' });
    const v = table(b.tables, 'visda-2017');
    expect(line(v, 'dapl').best['synthetic-real']).toEqual({ mean: 91, std: 1, n: 3 });
    expect(line(v, 'dapl').bestAverage).toEqual({ mean: 91, std: 1, n: 3 });
    expect(line(v, 'zero-shot').bestAverage).toBeNull();
    const o = table(b.tables, 'office-home');
    expect(line(o, 'dapl').bestAverage!.mean).toBeCloseTo(81.5, 10);
    expect(line(o, 'dapl').bestAverage!.std).toBeCloseTo(1.41421, 5);
    const d = v.differences.find((x) => x.method === 'dapl' && x.published.method === 'DAPL')!;
    expect(d.selection).toBe('best');
    expect(d.average).toBeCloseTo(1.2, 10); // 91.0 - 89.8
    expect(d.protocol).toEqual(['views: ours one clean view, published a fresh augmentation every batch']);
    // the last-epoch summary compares the last epoch and says the selection differs
    const l = table(s.tables, 'visda-2017').differences.find((x) => x.method === 'dapl' && x.published.method === 'DAPL')!;
    expect([l.selection, l.average]).toEqual(['last', expect.closeTo(0.2, 10)]);
    expect(l.protocol[0]).toBe('selection: ours last epoch, published best epoch (oracle)');
    const md = renderSummary(b, rows);
    expect(md).toContain('| dapl | 90.0 ± 0.5 | 90.0 ± 0.5 | 91.0 ± 1.0 |');
    expect(md).toContain('| zero-shot | 89.0 ± 1.0 | 89.0 ± 1.0 | – |');
    expect(md).toContain('### Best epoch on the target test set (oracle)');
    expect(md).toContain('| dapl | DAPL (DAPL README) | best epoch (oracle) | +1.2 | +1.2 |');
  });

  it('marks a config released for another backbone, and the seeds a source states', () => {
    const ours = runProtocol('dapl', [{ views: 4, lrStepPer: 'epoch' }], [1, 2, 3], 'ViT-B/16', 'last', true);
    const dapl = loadAnchors().rows.find((r) => r.method === 'DAPL' && r.backbone === 'ViT-B/16')!;
    expect(protocolDifferences({ ...ours, configBackbone: 'RN101' }, dapl)).toEqual([
      'selection: ours last epoch, published best epoch (oracle)',
      'views: ours 4 cached augmented views, published a fresh augmentation every batch',
      "learning rate: ours stepped per epoch, DAPL's trainer per batch",
      'config released for RN101, run on ViT-B/16',
    ]);
    const adclip = loadAnchors().rows.find((r) => r.method === 'AD-CLIP' && r.backbone === 'ViT-B/16')!;
    expect(protocolDifferences({ ...ours, views: ['online'], selection: 'best' }, adclip)).toEqual(['seeds: ours 1, 2, 3, published 1-5 in its scripts (mean ± std)']);
    expect(adclip.std.officehome).toBe(0.2);
    expect(adclip.figures.officehome_std).toBeUndefined();
  });

  it('says so when a dataset has no published numbers', () => {
    const synth = parseResultsCsv(csv.replace(/real,visda-2017,synthetic-real/g, 'synth,synth,ph-cl').replace(/ViT-B\/16/g, ''));
    const md = renderSummary(summarize('synth', synth, loadAnchors()), synth);
    expect(md).toContain('No published numbers exist for Synthetic world');
  });
});
