/**
 * `nx run bench:bench` (part of `nx run bench:perf`): the DAMPL training step and ViT-B/16
 * feature extraction (dampl-step.ts) on each available backend, and the same shapes in PyTorch
 * (packages/bench/perf/torch_step.py) when a python3 with torch is found, timed one after the
 * other in this run; writes results/perf/dampl-step.json with the ratios project / PyTorch
 * (time per step, time per image: below 1 means faster than PyTorch).
 *
 *   tsx packages/bench/src/perf/step.bench.ts [--backends wasm,cpu] [--steps 3] [--python python3]
 *
 * PyTorch runs with the thread count of the native BLAS (or the machine's cores) and the same
 * OPENBLAS_CORETYPE as the project's addon, so that both use the same OpenBLAS kernels. Python is
 * looked for as $DAMPL_PYTHON, python3, /usr/bin/python3 (Debian: apt-get install python3-torch).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { blasName, gitCommit, machineRecord, selectBackend, workspaceRoot, type BackendName, type BackendReport } from '@dampl/runtime';
import { ratioTable } from '../perf.js';
import { IMAGE_BATCH, STEP_SHAPE, VIT_B16, promptLayout, shapeModel, timeDamplStep, timeExtraction } from './dampl-step.js';

const CONTEXT_LENGTHS = [77, 45];
const TORCH_SCRIPT = path.join(workspaceRoot, 'packages', 'bench', 'perf', 'torch_step.py');

export interface StepRow {
  task: string;
  backend: string;
  /** Seconds per step, or per image for extraction. */
  seconds: number | null;
  pytorchSeconds: number | null;
  /** seconds / pytorchSeconds: at most 1 where the project is at least as fast. */
  ratio: number | null;
  note?: string;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A python3 that imports torch, or why none was found. */
export function findTorchPython(
  explicit?: string,
  candidates = [explicit, process.env.DAMPL_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c),
): { python?: string; reason?: string } {
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py };
    tried.push(`${py}: ${r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr || '').trim().split('\n').pop()}`);
  }
  return { reason: `no python3 with torch (${tried.join('; ')}); on Debian/Ubuntu: apt-get install python3-torch libopenblas0-pthread` };
}

async function runProject(name: BackendName, steps: number, log: (s: string) => void): Promise<{ report: BackendReport; step: Record<number, number>; image: number; layout: string } | { error: string }> {
  let report: BackendReport;
  try {
    report = await selectBackend(name);
  } catch (e) {
    return { error: String((e as Error).message).split('\n')[0]! };
  }
  const step: Record<number, number> = {};
  let layout = '';
  for (const L of CONTEXT_LENGTHS) {
    const model = await shapeModel(L);
    try {
      log(`${name}: DAMPL step, context ${L} ...`);
      const r = await timeDamplStep(model, steps);
      step[L] = r.seconds;
      layout = r.layout ?? layout;
      log(`${name}: DAMPL step, context ${L}: ${r.seconds.toFixed(2)} s (steps ${r.stepSeconds.map((s) => s.toFixed(2)).join(', ')}; prompts: ${r.layout})`);
    } finally {
      model.dispose();
    }
  }
  const model = await shapeModel(77);
  try {
    log(`${name}: ViT-B/16 image features ...`);
    const r = await timeExtraction(model, 3);
    log(`${name}: ViT-B/16 image features: ${r.imagesPerSecond!.toFixed(2)} images/s`);
    return { report, step, image: r.seconds / IMAGE_BATCH, layout };
  } finally {
    model.dispose();
  }
}

async function runTorch(python: string, steps: number, threads: number, log: (s: string) => void): Promise<{ steps: Record<string, number[]>; images: number[]; torch: string; threads: number } | { error: string }> {
  const model = await shapeModel(77);
  const layout = promptLayout(model);
  model.dispose();
  const v = VIT_B16().vision as { imageSize: number; patchSize: number; width: number; layers: number; heads: number };
  const spec = {
    threads, steps, image_iterations: 3, image_batch: IMAGE_BATCH, context_lengths: CONTEXT_LENGTHS,
    classes: STEP_SHAPE.classes, domains: STEP_SHAPE.domains, n_ctx: STEP_SHAPE.nCtx, n_dctx: STEP_SHAPE.nDomainCtx,
    batch_source: STEP_SHAPE.batchSource, batch_target: STEP_SHAPE.batchTarget, eot: layout.eot,
    width: STEP_SHAPE.width, layers: STEP_SHAPE.layers, heads: STEP_SHAPE.heads, embed_dim: 512,
    vision: { image_size: v.imageSize, patch_size: v.patchSize, width: v.width, layers: v.layers, heads: v.heads },
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dampl-torch-'));
  try {
    const file = path.join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    log(`pytorch (${python}, ${threads} threads, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'unset'}) ...`);
    const r = spawnSync(python, [TORCH_SCRIPT, file], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 24 });
    if (r.status !== 0) return { error: `torch_step.py exited with ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' ')}` };
    return JSON.parse(r.stdout) as { steps: Record<string, number[]>; images: number[]; torch: string; threads: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStepBench(opts: { backends?: BackendName[]; steps?: number; python?: string; out?: string } = {}): Promise<StepRow[]> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const steps = opts.steps ?? 3;
  const backends = opts.backends ?? ['tensorflow', 'webgpu', 'wasm'];
  const rows: StepRow[] = [];
  const project: { name: string; device: string; step: Record<number, number>; image: number; layout: string }[] = [];
  let threads = os.cpus().length;
  for (const b of backends) {
    const r = await runProject(b, steps, log);
    if ('error' in r) {
      log(`${b}: skipped (${r.error})`);
      rows.push({ task: 'all', backend: b, seconds: null, pytorchSeconds: null, ratio: null, note: `unavailable: ${r.error}` });
      continue;
    }
    if (r.report.native) threads = r.report.native.threads;
    project.push({ name: b, device: `${r.report.device}${r.report.native ? ` + ${blasName(r.report.native)}` : ''}`, step: r.step, image: r.image, layout: r.layout });
  }
  const found = findTorchPython(opts.python);
  const torch = found.python ? await runTorch(found.python, steps, threads, log) : { error: found.reason! };
  if ('error' in torch) log(`pytorch: ${torch.error}`);
  const torchStep = (L: number) => ('error' in torch ? null : mean(torch.steps[String(L)]!));
  const torchImage = 'error' in torch ? null : mean(torch.images) / IMAGE_BATCH;
  for (const p of project) {
    for (const L of CONTEXT_LENGTHS) {
      const t = torchStep(L);
      rows.push({
        task: `DAMPL step, context ${L} (130 prompts, 16+16 ctx, CSC; project: ${p.layout})`,
        backend: p.device, seconds: p.step[L]!, pytorchSeconds: t, ratio: t ? p.step[L]! / t : null,
      });
    }
    rows.push({
      task: 'ViT-B/16 image features, 224 px, batch 16 (s per image)',
      backend: p.device, seconds: p.image, pytorchSeconds: torchImage, ratio: torchImage ? p.image / torchImage : null,
    });
  }
  if ('error' in torch) rows.push({ task: 'pytorch anchor', backend: '-', seconds: null, pytorchSeconds: null, ratio: null, note: torch.error });
  const record = {
    suite: 'dampl-step',
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: {
      ...machineRecord(),
      pytorch: 'error' in torch ? null : `${torch.torch}, ${torch.threads} threads, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'unset'}`,
    },
    shape: { ...STEP_SHAPE, contextLengths: CONTEXT_LENGTHS, imageBatch: IMAGE_BATCH, timedSteps: steps },
    results: rows,
  };
  const out = opts.out ?? path.join(workspaceRoot, 'results', 'perf', 'dampl-step.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
  console.log(ratioTable(record));
  log(`wrote ${out}`);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (n: string) => {
    const i = process.argv.indexOf(`--${n}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  await runStepBench({
    backends: arg('backends')?.split(',').filter(Boolean) as BackendName[] | undefined,
    steps: arg('steps') ? Number(arg('steps')) : undefined,
    python: arg('python'),
  });
}
