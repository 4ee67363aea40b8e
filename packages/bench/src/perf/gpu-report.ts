/**
 * The GPU kit's report (`dampl bench gpu report --dir DIR`): joins, from one run of the kit on
 * one machine,
 *
 *   DIR/webgpu.json        the project on webgpu (gpu.ts)
 *   DIR/torch.json         the same shapes in PyTorch (perf/torch_step.py; absent without torch)
 *   DIR/doctor.json        `dampl doctor --json` there
 *   DIR/results/synth/     the synthetic benchmark run there on webgpu
 *
 * into DIR/gpu.json and DIR/gpu.md: per task the project's time, PyTorch's in fp32, bf16 and fp16
 * (autocast), and the ratio project / PyTorch (below 1: faster); per method the synthetic
 * benchmark's mean accuracy beside the committed reference run of the same tasks.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { workspaceRoot } from '@dampl/runtime';
import { parseResultsCsv, type ResultRow } from '../results.js';
import { GPU_MEASURE_FILE, type GpuMeasure } from './gpu.js';

const TORCH_RESULT_FILE = 'torch.json';
const REFERENCE_SYNTH_CSV = path.join(workspaceRoot, 'results', 'reference', 'synth', 'results.csv');

interface TorchRun { kind: 'step' | 'images'; precision: 'fp32' | 'bf16' | 'fp16'; length?: number; batch?: number; times: number[] }
interface TorchResult { torch?: string; device?: string; device_name?: string; cuda?: string | null; runs?: TorchRun[]; error?: string }

export interface GpuRow {
  task: string;
  /** Seconds per step, or per batch of images. */
  project: number | null;
  imagesPerSecond?: number | null;
  pytorch: Partial<Record<'fp32' | 'bf16' | 'fp16', number>>;
  /** project / PyTorch for each precision. */
  ratio: Partial<Record<'fp32' | 'bf16' | 'fp16', number>>;
  note?: string;
}

export interface SynthLine { method: string; cells: number; accuracy: number; reference: number | null; difference: number | null; fitSeconds: number }

export interface GpuReport {
  format: 'dampl-gpu-report';
  date: string;
  commit: string;
  quick: boolean;
  device: { adapter: string; backend: string; pytorch: string; cpu?: string };
  rows: GpuRow[];
  synth: { tasks: string[]; lines: SynthLine[]; reference: string } | null;
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const readJson = async <T>(file: string): Promise<T | undefined> => (existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) as T : undefined);

function torchTimes(t: TorchResult | undefined, pick: (r: TorchRun) => boolean): GpuRow['pytorch'] {
  const out: GpuRow['pytorch'] = {};
  for (const r of t?.runs ?? []) if (pick(r) && r.times.length) out[r.precision] = median(r.times);
  return out;
}

function row(task: string, project: number | null, pytorch: GpuRow['pytorch'], extra: Partial<GpuRow> = {}): GpuRow {
  const ratio: GpuRow['ratio'] = {};
  for (const [k, v] of Object.entries(pytorch) as [keyof GpuRow['ratio'], number][]) if (project !== null && v > 0) ratio[k] = project / v;
  return { task, project, pytorch, ratio, ...extra };
}

/** Mean accuracy per method over the tasks run, beside the reference rows of the same cells. */
export function synthLines(rows: readonly ResultRow[], reference: readonly ResultRow[]): SynthLine[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  return methods.map((method) => {
    const mine = rows.filter((r) => r.method === method);
    const ref = mine.map((r) => reference.find((x) => x.method === method && x.task === r.task && x.seed === r.seed));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const accuracy = mean(mine.map((r) => r.value));
    const refValue = ref.every(Boolean) ? mean(ref.map((r) => r!.value)) : null;
    return {
      method, cells: mine.length, accuracy, reference: refValue, difference: refValue === null ? null : accuracy - refValue,
      fitSeconds: mine.reduce((a, r) => a + r.fitSeconds, 0),
    };
  });
}

export async function gpuReport(dir: string, referenceCsv = REFERENCE_SYNTH_CSV): Promise<GpuReport> {
  const m = await readJson<GpuMeasure>(path.join(dir, GPU_MEASURE_FILE));
  if (!m) throw new Error(`${path.join(dir, GPU_MEASURE_FILE)} is missing: run dampl bench gpu measure --out ${dir} first`);
  const t = await readJson<TorchResult>(path.join(dir, TORCH_RESULT_FILE));
  const doctor = await readJson<{ backends?: { name: string; detail: string }[] }>(path.join(dir, 'doctor.json'));
  const v = m.model.config.vision;
  const name = m.quick ? `smoke CLIP (ViT ${v.width} wide, ${v.layers} layers, ${v.imageSize} px; not ViT-B/16)` : 'ViT-B/16';
  const rows: GpuRow[] = [];
  for (const im of m.images) {
    const perBatch = im.seconds.length ? median(im.seconds) : null;
    rows.push(row(`${name} image tower, batch ${im.batch} (s per batch)`, perBatch,
      torchTimes(t, (r) => r.kind === 'images' && r.batch === im.batch), { imagesPerSecond: im.imagesPerSecond, ...(im.error ? { note: im.error } : {}) }));
  }
  const s = m.step;
  const stepTask = (L: number, how: string) => `DAMPL step, ${s.shape.classes} classes x ${s.shape.domains} domains, ${s.shape.nCtx}+${s.shape.nDomainCtx} ctx, CSC, batch ${s.shape.batchSource}+${s.shape.batchTarget}; PyTorch at context ${L} (${how})`;
  const full = m.model.config.text.contextLength;
  rows.push(row(stepTask(full, 'as DAPL\'s trainer runs it'), s.mean, torchTimes(t, (r) => r.kind === 'step' && r.length === full), s.error ? { note: s.error } : { note: `project: ${s.prompts}` }));
  if (s.length !== full) rows.push(row(stepTask(s.length, 'cut after EOT like the project'), s.mean, torchTimes(t, (r) => r.kind === 'step' && r.length === s.length)));
  let synth: GpuReport['synth'] = null;
  const csv = path.join(dir, 'results', 'synth', 'results.csv');
  if (existsSync(csv)) {
    const mine = parseResultsCsv(await readFile(csv, 'utf8'), csv);
    const reference = existsSync(referenceCsv) ? parseResultsCsv(await readFile(referenceCsv, 'utf8'), referenceCsv) : [];
    synth = { tasks: [...new Set(mine.map((r) => r.task))].sort(), lines: synthLines(mine, reference), reference: path.relative(workspaceRoot, referenceCsv) };
  }
  const report: GpuReport = {
    format: 'dampl-gpu-report', date: m.date, commit: m.commit, quick: m.quick,
    device: {
      adapter: doctor?.backends?.find((b) => b.name === 'webgpu')?.detail ?? m.backend,
      backend: m.backend,
      pytorch: t?.error ? `not run: ${t.error}` : t?.torch ? `PyTorch ${t.torch} on ${t.device_name ?? t.device}${t.cuda ? `, CUDA ${t.cuda}` : ''}` : 'not run (no torch)',
    },
    rows, synth,
  };
  await writeFile(path.join(dir, 'gpu.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFile(path.join(dir, 'gpu.md'), gpuMarkdown(report));
  return report;
}

const f = (x: number | null | undefined, d: number) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

function gpuMarkdown(r: GpuReport): string {
  const out = [
    `# GPU route: webgpu beside PyTorch`,
    '',
    r.quick ? '**Smoke run (`--quick`): every shape reduced; a test of the kit, not a measurement.**\n' : '',
    `Measured ${r.date.slice(0, 10)}, commit ${r.commit.slice(0, 7)}, by packages/bench/kit (nx run bench:gpu-kit).`,
    '',
    `- webgpu adapter: ${r.device.adapter}`,
    `- backend: ${r.device.backend}`,
    `- PyTorch: ${r.device.pytorch}`,
    '',
    'Ratio = project time / PyTorch time (below 1: the project is faster); PyTorch in fp32 and under autocast (bf16, fp16). Medians of the timed runs.',
    '',
    '| task | project (s) | images/s | PyTorch fp32 (s) | ratio | PyTorch bf16 (s) | ratio | PyTorch fp16 (s) | ratio | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.rows.map((x) => `| ${x.task} | ${f(x.project, 4)} | ${f(x.imagesPerSecond, 1)} | ${f(x.pytorch.fp32, 4)} | ${f(x.ratio.fp32, 2)} | ${f(x.pytorch.bf16, 4)} | ${f(x.ratio.bf16, 2)} | ${f(x.pytorch.fp16, 4)} | ${f(x.ratio.fp16, 2)} | ${x.note ?? ''} |`),
  ];
  if (r.synth) {
    out.push('', `## Synthetic benchmark on webgpu (tasks ${r.synth.tasks.join(', ')}, seed 1)`, '',
      `Mean accuracy (%) of each method over these tasks, beside the committed reference run of the same cells (${r.synth.reference}, wasm).`, '',
      '| method | cells | webgpu | reference | difference | fit (s) |', '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...r.synth.lines.map((l) => `| ${l.method} | ${l.cells} | ${f(l.accuracy, 1)} | ${f(l.reference, 1)} | ${l.difference === null ? '-' : (l.difference >= 0 ? '+' : '') + l.difference.toFixed(1)} | ${f(l.fitSeconds, 1)} |`));
  }
  return out.filter((l, i) => l !== '' || out[i - 1] !== '').join('\n') + '\n';
}
