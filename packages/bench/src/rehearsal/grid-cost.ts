/**
 * The full real grid's cost from the rehearsal's measurements: every method, every task of each
 * dataset and the real suite's seeds, at the datasets' full sizes (trees.ts), on this CPU and,
 * where the GPU kit's report (`dampl bench gpu report`, gpu.json) gives numbers, on that GPU.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@dampl/runtime';
import { getDataset } from '@dampl/data';
import { SUITES } from '../suites.js';
import type { GpuReport } from '../perf/gpu-report.js';
import { projectCell, fullSteps, type MethodMeasure, type TaskSizes } from './project.js';
import { TREE_SHAPES, type TreeShape } from './trees.js';

/** What the GPU kit measured: images a second through ViT-B/16, seconds of a DAMPL step at 130 prompts. */
export interface GpuNumbers { source: string; device: string; imagesPerSecond: number | null; promptStepSeconds: number | null }

export async function readGpuNumbers(file?: string): Promise<GpuNumbers | null> {
  if (!file) return null;
  if (!existsSync(file)) throw new ConfigError(`--gpu: no file ${file}`, "give the gpu.json that the GPU kit's `dampl bench gpu report` writes");
  const r = JSON.parse(await readFile(file, 'utf8')) as GpuReport;
  if (r.format !== 'dampl-gpu-report') throw new ConfigError(`--gpu: ${file} is not a GPU kit report (format ${String(r.format)})`);
  const ips = r.rows.map((x) => x.imagesPerSecond ?? null).filter((x): x is number => typeof x === 'number' && x > 0);
  const step = r.rows.find((x) => /DAMPL step/i.test(x.task) && typeof x.project === 'number');
  return { source: file, device: r.device.adapter, imagesPerSecond: ips.length ? Math.max(...ips) : null, promptStepSeconds: step?.project ?? null };
}

/** Full sizes of a task: source train, target train, target test. */
export function fullTaskSizes(shape: TreeShape, source: string, target: string): TaskSizes {
  const n = (d: string, split: string): number => {
    const s = shape.counts[d]?.find((c) => c.split === split) ?? shape.counts[d]?.[0];
    if (!s) throw new ConfigError(`no count for ${shape.dataset} ${d}`);
    return s.images;
  };
  const [train, test] = shape.dataset === 'office-home' ? ['all', 'all'] : ['train', 'test'];
  return { source: n(source, train), target: n(target, train), test: n(target, test) };
}

export interface MethodCost { method: string; cells: number; cpuSeconds: number; gpuSeconds: number | null; steps: number }
export interface DatasetCost {
  dataset: string; tasks: number; seeds: number; images: number;
  encodeCpuSeconds: number; encodeGpuSeconds: number | null; cacheBytes: number;
  methods: MethodCost[]; cpuSeconds: number; gpuSeconds: number | null;
}
export interface GridCost { seeds: number[]; datasets: DatasetCost[]; cpuSeconds: number; gpuSeconds: number | null; gpu: GpuNumbers | null }

export interface GridInputs {
  datasets: string[];
  measures: Record<string, MethodMeasure[]>;
  configs: Record<string, Record<string, Record<string, unknown>>>;
  encoding: Record<string, { images: number; secondsPerImage: number; cacheBytes: number }>;
  gpu: GpuNumbers | null;
}

export function projectGrid(g: GridInputs): GridCost {
  const seeds = SUITES.real!.seeds;
  const out: DatasetCost[] = [];
  for (const d of g.datasets) {
    const shape = TREE_SHAPES[d as TreeShape['dataset']];
    const tasks = getDataset(d).tasks;
    const images = Object.values(shape.counts).flat().reduce((a, c) => a + c.images, 0);
    const enc = g.encoding[d]!;
    const prompts = 2 * shape.classes.length;
    const methods: MethodCost[] = g.measures[d]!.map((m) => {
      const config = g.configs[d]![m.method]!;
      let cpu = 0;
      let gpu: number | null = 0;
      let steps = 0;
      for (const t of tasks) {
        const full = fullTaskSizes(shape, t.source, t.target);
        const cell = projectCell(m, config, full);
        const s = m.kind === 'fixed' ? 0 : fullSteps(m.method, config, full);
        cpu += cell;
        steps += s;
        // on the GPU the prompt methods' steps take the kit's DAMPL step, scaled by the prompts
        // (130 in the kit); the rest keeps this CPU's figures (feature-space heads are small)
        if (m.kind === 'maxSteps') gpu = g.gpu?.promptStepSeconds && gpu !== null ? gpu + s * g.gpu.promptStepSeconds * (prompts / 130) : null;
        else if (gpu !== null) gpu += cell;
      }
      return { method: m.method, cells: tasks.length * seeds.length, cpuSeconds: cpu * seeds.length, gpuSeconds: g.gpu?.promptStepSeconds && gpu !== null ? gpu * seeds.length : null, steps: steps * seeds.length };
    });
    const encodeCpu = enc.secondsPerImage * images;
    const encodeGpu = g.gpu?.imagesPerSecond ? images / g.gpu.imagesPerSecond : null;
    const cpuSeconds = encodeCpu + methods.reduce((a, m) => a + m.cpuSeconds, 0);
    const gpuSeconds = encodeGpu !== null && methods.every((m) => m.gpuSeconds !== null) ? encodeGpu + methods.reduce((a, m) => a + m.gpuSeconds!, 0) : null;
    out.push({
      dataset: d, tasks: tasks.length, seeds: seeds.length, images,
      encodeCpuSeconds: encodeCpu, encodeGpuSeconds: encodeGpu, cacheBytes: (enc.cacheBytes / enc.images) * images,
      methods, cpuSeconds, gpuSeconds,
    });
  }
  const gpuAll = out.every((d) => d.gpuSeconds !== null) ? out.reduce((a, d) => a + d.gpuSeconds!, 0) : null;
  return { seeds, datasets: out, cpuSeconds: out.reduce((a, d) => a + d.cpuSeconds, 0), gpuSeconds: gpuAll, gpu: g.gpu };
}
