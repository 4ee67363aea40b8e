/**
 * summary.md from a Summary: per dataset the table of our figures (last epoch; with the best
 * epoch's beside them when the summary reports `best`), this run beside the suite's committed
 * reference run, the published rows with their epoch selection, our differences from them with
 * the protocol differences of each, published rows of other backbones apart, skipped datasets and
 * the provenance. The same summary, rows and records always give the same text.
 */
import type { RunRecord } from './records.js';
import type { ResultRow } from './results.js';
import { orderMethods, type DatasetTable, type PublishedLine, type Stat, type Summary } from './summary.js';
import type { SkippedDataset } from './suites.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);


const f1 = (x: number) => x.toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(1)}`;
const fmtStat = (s: Stat | null | undefined): string => (!s ? '–' : s.std === null ? f1(s.mean) : `${f1(s.mean)} ± ${f1(s.std)}`);

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

const METRIC_WORDS: Record<string, string> = {
  accuracy: 'accuracy (%) on the target domain',
  'mean-class': 'mean of the per-class accuracies (%) on the target domain',
};

export interface RenderOptions {
  skipped?: readonly Pick<SkippedDataset, 'dataset' | 'reason' | 'command'>[];
  /** Records of the rows, for configs, devices and timings. */
  records?: readonly RunRecord[];
  /** table id -> chart file name (relative to summary.md). */
  charts?: Readonly<Record<string, string>>;
  /** A committed reference run of the suite (results/reference/<suite>), set beside this run's numbers. */
  reference?: { name: string; rows: readonly ResultRow[] };
}

/**
 * This run beside the reference run, cell by cell: a cell (method, dataset, model, task, seed) is
 * compared only where both ran it with the same config hash. Per method: the task differences
 * and the averages over the compared cells of each.
 */
function referenceLines(t: DatasetTable, rows: readonly ResultRow[], reference: readonly ResultRow[]): { method: string; tasks: Record<string, number>; ours: number; theirs: number; cells: number }[] {
  const out = [];
  for (const m of t.methods) {
    const pairs = rows.filter((r) => r.dataset === t.dataset && r.model === t.model && r.method === m.method)
      .map((r) => [r, reference.find((x) => x.dataset === r.dataset && x.method === r.method && x.task === r.task && x.seed === r.seed && x.configHash === r.configHash)] as const)
      .filter((p): p is readonly [ResultRow, ResultRow] => !!p[1]);
    if (!pairs.length) continue;
    const tasks: Record<string, number> = {};
    for (const task of t.tasks) {
      const d = pairs.filter(([r]) => r.task === task).map(([r, x]) => r.value - x.value);
      if (d.length) tasks[task] = d.reduce((a, b) => a + b, 0) / d.length;
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    out.push({ method: m.method, tasks, ours: mean(pairs.map(([r]) => r.value)), theirs: mean(pairs.map(([, x]) => x.value)), cells: pairs.length });
  }
  return out;
}

function datasetSection(t: DatasetTable, o: RenderOptions & { rows?: readonly ResultRow[]; report: Summary['report'] }): string {
  const seeds = [...new Set(t.methods.flatMap((m) => m.seeds))].sort((a, b) => a - b);
  const out: string[] = [];
  out.push(`## ${t.title === t.dataset ? t.dataset : `${t.title} (${t.dataset})`}${t.id !== t.dataset ? `, ${t.model}` : ''}`);
  out.push('');
  const best = o.report === 'best';
  out.push(`${METRIC_WORDS[t.metric] ?? t.metric} after the last epoch; ${seeds.length === 1 ? `seed ${seeds[0]} (one seed: no std)` : `mean ± sample std over seeds ${seeds.join(', ')}`}. `
    + `Model: ${t.model}${t.backbone ? ` (${t.backbone})` : ''}. avg: mean over the ${t.tasks.length} task${t.tasks.length === 1 ? '' : 's'} per seed.`
    + (best ? ' best-epoch (oracle): the avg at the epoch with the best target test figure of each run, a selection on the test labels, as the published prompt-learning runs report; – for methods without epochs or runs recorded before per-epoch scores.' : ''));
  out.push('');
  out.push(table(['method', ...t.tasks, 'avg', ...(best ? ['best-epoch (oracle)'] : [])],
    t.methods.map((m) => [m.method, ...t.tasks.map((k) => fmtStat(m.tasks[k])), fmtStat(m.average), ...(best ? [fmtStat(m.bestAverage)] : [])]),
    ['l', ...t.tasks.map(() => 'r' as const), 'r', ...(best ? ['r' as const] : [])]));
  if (best && t.methods.some((m) => Object.keys(m.best).length)) {
    out.push('', '### Best epoch on the target test set (oracle)', '');
    out.push(table(['method', ...t.tasks, 'avg'],
      t.methods.filter((m) => Object.keys(m.best).length).map((m) => [m.method, ...t.tasks.map((k) => fmtStat(m.best[k])), fmtStat(m.bestAverage)]),
      ['l', ...t.tasks.map(() => 'r' as const), 'r']));
  }
  const chart = o.charts?.[t.id];
  if (chart) out.push('', `![${t.title}: accuracy per task and method](${chart})`);
  out.push('');
  if (o.reference) {
    const lines = referenceLines(t, o.rows ?? [], o.reference.rows);
    out.push(`### This run − the reference run (${o.reference.name}), percentage points`, '');
    if (lines.length) {
      out.push('Cells compared where both ran the same config (its hash); this run\'s and the reference\'s means over those cells.', '');
      out.push(table(['method', ...t.tasks, 'cells', 'this run', 'reference', 'difference'],
        lines.map((l) => [l.method, ...t.tasks.map((k) => (l.tasks[k] !== undefined ? signed(l.tasks[k]!) : '')), String(l.cells), f1(l.ours), f1(l.theirs), signed(l.ours - l.theirs)]),
        ['l', ...t.tasks.map(() => 'r' as const), 'r', 'r', 'r', 'r']));
    } else {
      out.push('No cell of this table ran with a config of the reference run.');
    }
    out.push('');
  }
  if (!t.hasPublished) {
    out.push(`No published numbers exist for ${t.title}: it is this project's own benchmark.`);
    return out.join('\n');
  }
  const pubRow = (p: PublishedLine) => [p.row.method, p.row.source, p.row.selection, ...t.tasks.map((k) => (p.tasks[k] !== undefined ? f1(p.tasks[k]!) : '')),
    p.average !== null ? f1(p.average) : ''];
  if (!t.backbone) {
    out.push(`The model is not a published CLIP backbone, so no published figure is comparable.`);
  } else if (!t.published.length) {
    out.push(`No published figures for the ${t.backbone} backbone.`);
  } else {
    out.push(`### Published, ${t.backbone}`, '');
    out.push(table(['method', 'source', 'selection', ...t.tasks, 'avg'], t.published.map(pubRow), ['l', 'l', 'l', ...t.tasks.map(() => 'r' as const), 'r']));
    out.push('');
    if (t.differences.length) {
      out.push(`### Ours − published, ${t.backbone} (percentage points)`, '');
      out.push('ours: the figure compared (the last epoch, or the best epoch where the source reports its best and the summary reports `best`); protocol: where our run differs from the source\'s.', '');
      out.push(table(['method', 'published as', 'ours', ...t.tasks, 'avg', 'protocol'],
        t.differences.map((d) => [d.method, `${d.published.method} (${d.published.source})`, d.selection === 'best' ? 'best epoch (oracle)' : 'last epoch',
          ...t.tasks.map((k) => (d.tasks[k] !== undefined ? signed(d.tasks[k]!) : '')), d.average !== null ? signed(d.average) : '',
          d.protocol.length ? d.protocol.join('; ') : 'as published']),
        ['l', 'l', 'l', ...t.tasks.map(() => 'r' as const), 'r', 'l']));
    } else {
      out.push('None of the methods run here has a published counterpart with this backbone.');
    }
  }
  if (t.other.length) {
    out.push('', `### Published with another or an unspecified backbone (not comparable with the table above)`, '');
    const hasTasks = t.other.some((p) => Object.keys(p.tasks).length);
    const cols = hasTasks ? t.tasks : [];
    out.push(table(['method', 'backbone', 'source', 'selection', ...cols, 'avg'],
      t.other.map((p) => [p.row.method, p.row.backbone, p.row.source, p.row.selection, ...cols.map((k) => (p.tasks[k] !== undefined ? f1(p.tasks[k]!) : '')),
        p.average !== null ? f1(p.average) : '']),
      ['l', 'l', 'l', 'l', ...cols.map(() => 'r' as const), 'r']));
  }
  return out.join('\n');
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function provenanceSection(rows: readonly ResultRow[], o: RenderOptions): string {
  const recs = o.records ?? [];
  const out = ['## Provenance', ''];
  const dates = rows.map((r) => r.date).sort(cmp);
  const commits = new Map<string, number>();
  for (const r of rows) commits.set(r.commit, (commits.get(r.commit) ?? 0) + 1);
  out.push(`- runs: ${rows.length}${dates.length ? `, finished ${dates[0]} to ${dates[dates.length - 1]}` : ''}`);
  out.push(`- commit${commits.size > 1 ? 's' : ''}: ${[...commits].map(([c, n]) => (commits.size > 1 ? `${c} (${n} runs)` : c)).join(', ')}`);
  const backends = recs.length ? uniq(recs.map((r) => r.provenance.backend)) : uniq(rows.map((r) => r.backend));
  out.push(`- backend${backends.length > 1 ? 's' : ''}: ${backends.join(' | ')}`);
  if (recs.length) {
    const dev = uniq(recs.map((r) => `${r.provenance.device.cpu} × ${r.provenance.device.cpus}, ${r.provenance.device.memoryGiB} GiB, ${r.provenance.os}`));
    out.push(`- device${dev.length > 1 ? 's' : ''}: ${dev.join(' | ')}`);
    out.push(`- Node ${uniq(recs.map((r) => r.provenance.node)).join(', ')}, TensorFlow.js ${uniq(recs.map((r) => r.provenance.tfjs)).join(', ')}`);
  }
  const models = uniq(rows.map((r) => `${r.model} (weights sha256 ${r.weightsHash.slice(0, 16)}…${r.backbone ? `, ${r.backbone}` : ''})`));
  out.push(`- model${models.length > 1 ? 's' : ''}: ${models.join(', ')}`);
  out.push('- every run\'s record (config, seed, backend, device, commit, date, timings, predictions, per-class accuracy, history) is in `runs/<record>.json`; `results.csv` names the record of each row');

  // timings: wall-clock fit seconds from the rows, CPU seconds from the records when present
  const cpuOf = new Map(recs.map((r) => [r.key, r.timings.cpuSeconds]));
  const timing = new Map<string, { wall: number[]; cpu: number[] }>();
  for (const r of rows) {
    const k = JSON.stringify([r.dataset, r.method]);
    const t = timing.get(k) ?? { wall: [], cpu: [] };
    t.wall.push(r.fitSeconds);
    const c = cpuOf.get(r.key);
    if (c !== undefined) t.cpu.push(c);
    timing.set(k, t);
  }
  out.push('', '### Training time per run (seconds)', '');
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const tRows = [...timing].map(([k, v]) => {
    const [d, m] = JSON.parse(k) as [string, string];
    return { d, m, v };
  });
  const withCpu = tRows.some((t) => t.v.cpu.length);
  const lines: string[][] = [];
  for (const d of uniq(tRows.map((t) => t.d)).sort(cmp)) {
    for (const m of orderMethods(tRows.filter((t) => t.d === d).map((t) => t.m))) {
      const { wall, cpu } = tRows.find((t) => t.d === d && t.m === m)!.v;
      lines.push([d, m, String(wall.length), (sum(wall) / wall.length).toFixed(1), sum(wall).toFixed(0),
        ...(withCpu ? [cpu.length ? (sum(cpu) / cpu.length).toFixed(1) : ''] : [])]);
    }
  }
  out.push(table(['dataset', 'method', 'runs', 'mean', 'total', ...(withCpu ? ['mean CPU'] : [])], lines, ['l', 'l', 'r', 'r', 'r', 'r']));

  // configs
  const configs = new Map<string, { dataset: string; method: string; hash: string; config: unknown }>();
  for (const r of recs) configs.set(JSON.stringify([r.dataset, r.method, r.configHash]), { dataset: r.dataset, method: r.method, hash: r.configHash, config: r.config });
  if (configs.size) {
    out.push('', '### Configs', '');
    const list = [...configs.values()].sort((a, b) => cmp(a.dataset, b.dataset) || orderMethods([a.method, b.method]).indexOf(a.method) - orderMethods([a.method, b.method]).indexOf(b.method) || cmp(a.hash, b.hash));
    for (const c of list) {
      out.push(`<details><summary>${c.method} on ${c.dataset}: config ${c.hash.slice(0, 16)}</summary>`, '', '```json', JSON.stringify(c.config, null, 1), '```', '', '</details>', '');
    }
    out.pop();
  } else {
    const hashes = uniq(rows.map((r) => `${r.method} on ${r.dataset}: ${r.configHash.slice(0, 16)}`));
    out.push('', `Config hashes: ${hashes.join('; ')}`);
  }
  return out.join('\n');
}

/** summary.md for a suite. The same rows and records always give the same text. */
export function renderSummary(s: Summary, rows: readonly ResultRow[], o: RenderOptions = {}): string {
  const out: string[] = [`# Results: ${s.suite}`, ''];
  out.push('Written by `dampl bench run` (or `dampl bench merge`) from the run records in `runs/`; every number is recomputed '
    + 'from the predictions stored there. Published figures: packages/bench/src/anchors.json, each with its source.');
  out.push('');
  if (!s.tables.length) out.push('No finished runs yet.', '');
  for (const t of s.tables) out.push(datasetSection(t, { ...o, rows, report: s.report }), '');
  if (o.skipped?.length) {
    out.push('## Skipped datasets', '');
    out.push(table(['dataset', 'why', 'get it with'], o.skipped.map((k) => [k.dataset, k.reason, `\`${k.command}\``]), ['l', 'l', 'l']));
    out.push('');
  }
  if (rows.length) out.push(provenanceSection(rows, o), '');
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
