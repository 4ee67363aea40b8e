/**
 * `nx run bench:bench` (part of `nx run bench:perf`): the DAMPL training step and ViT-B/16 and
 * RN50 feature extraction (dampl-step.ts) on each available backend beside the same shapes in PyTorch
 * (packages/bench/perf/torch_step.py, Debian's python3-torch), in one run: each task is timed on
 * the project, then on PyTorch, then on the project again, for `--rounds` rounds, and each side's
 * figure is the median of its rounds, with the load average at each. An image task times, on each
 * side, one batch after an untimed one in every round (the steady state of an extraction). Writes
 * results/perf/dampl-step.json: per task the ratio project / PyTorch (below 1: faster), each side's
 * GFLOP/s on the work it does (dampl-step.ts `stepFlops`, `imageFlops`) and its fraction of the
 * machine's fp32 FMA peak, measured in the same run (runtime `fmaPeak`, before and after).
 *
 *   tsx packages/bench/src/perf/step.bench.ts [--backends wasm,cpu] [--rounds 3] [--steps 2] [--python python3] [--out FILE]
 *
 * PyTorch runs with the thread count of the native BLAS (or the machine's cores) and the same
 * OPENBLAS_CORETYPE and OPENBLAS_THREAD_TIMEOUT as the project's addon, so that both use the same
 * OpenBLAS kernels and threads. Python is
 * looked for as $DAMPL_PYTHON, python3, /usr/bin/python3 (Debian: apt-get install python3-torch).
 * CI does not run this suite: its figures depend on the machine.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import {
  blasName, fmaPeak, gitCommit, loadNativeBlas, machineRecord, selectBackend, workspaceRoot, type BackendName, type BackendReport,
} from '@dampl/runtime';
import type { ClipModel } from '@dampl/clip';
import { ratioTable } from '../perf.js';
import {
  IMAGE_BATCHES, RN50, STEP_SHAPE, VIT_B16, imageFlops, promptLayout, resnetFlops, shapeModel, stepFlops, timeDamplStep, timeExtraction,
} from './dampl-step.js';

const CONTEXT_LENGTHS = [77, 45];
const TORCH_SCRIPT = path.join(workspaceRoot, 'packages', 'bench', 'perf', 'torch_step.py');

type Task = { kind: 'step'; length: number } | { kind: 'images'; batch: number; tower: 'vit' | 'resnet' };
const TASKS: Task[] = [
  ...CONTEXT_LENGTHS.map((length) => ({ kind: 'step', length }) as Task),
  ...IMAGE_BATCHES.map((batch) => ({ kind: 'images', batch, tower: 'vit' }) as Task),
  { kind: 'images', batch: 32, tower: 'resnet' },
];

export interface StepRow {
  task: string;
  backend: string;
  /** Seconds per step, or per image for extraction: the median of the rounds. */
  seconds: number | null;
  pytorchSeconds: number | null;
  /** seconds / pytorchSeconds: at most 1 where the project is at least as fast. */
  ratio: number | null;
  /** GFLOP/s of each side on the work it does, and the project's fraction of the measured peak. */
  gflops?: number | null;
  pytorchGflops?: number | null;
  peakFraction?: number | null;
  pytorchPeakFraction?: number | null;
  /** Each round's figure, in the order measured, and the 1-minute load average at each. */
  rounds?: { seconds: number; pytorchSeconds: number | null; loadAverage: number }[];
  note?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

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

interface TorchHeader { torch: string; threads: number; blas: string; openblas_coretype: string; openblas_thread_timeout?: string }

/** torch_step.py --serve: one process, its models built once, timed on request. */
class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly dir: string) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(python: string, threads: number, steps: number): Promise<{ server: TorchServer; header: TorchHeader }> {
    const model = await shapeModel(77);
    const layout = promptLayout(model);
    model.dispose();
    const v = VIT_B16().vision as { imageSize: number; patchSize: number; width: number; layers: number; heads: number };
    const rn = RN50().vision as { imageSize: number; width: number; layers: number[]; heads: number };
    const spec = {
      threads, steps, image_iterations: 1, image_batch: IMAGE_BATCHES[0], context_lengths: CONTEXT_LENGTHS,
      classes: STEP_SHAPE.classes, domains: STEP_SHAPE.domains, n_ctx: STEP_SHAPE.nCtx, n_dctx: STEP_SHAPE.nDomainCtx,
      batch_source: STEP_SHAPE.batchSource, batch_target: STEP_SHAPE.batchTarget, eot: layout.eot,
      width: STEP_SHAPE.width, layers: STEP_SHAPE.layers, heads: STEP_SHAPE.heads, embed_dim: 512,
      vision: { image_size: v.imageSize, patch_size: v.patchSize, width: v.width, layers: v.layers, heads: v.heads },
      resnet: { image_size: rn.imageSize, width: rn.width, layers: rn.layers, heads: rn.heads, embed_dim: RN50().embedDim },
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dampl-torch-'));
    const file = path.join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const child = spawn(python, [TORCH_SCRIPT, file, '--serve'], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const server = new TorchServer(child, dir);
    const first = await server.lines.next();
    if (first.done) throw new Error(`torch_step.py --serve exited: ${stderr.trim().split('\n').slice(-2).join(' ')}`);
    return { server, header: JSON.parse(first.value) as TorchHeader };
  }

  async time(task: Task, count: number): Promise<number[]> {
    this.child.stdin.write(JSON.stringify({ ...task, count }) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('torch_step.py --serve stopped answering');
    return (JSON.parse(r.value) as { times: number[] }).times;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The CPU as /proc/cpuinfo names it: vendor, family, model and name. */
function cpuIdentity(): string {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
    return `${field('vendor_id') ?? '?'} family ${field('cpu family') ?? '?'} model ${field('model') ?? '?'} (${field('model name') ?? os.cpus()[0]?.model ?? '?'})`;
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** The peak the suite measures against: FMA chains on every BLAS thread, and on one. */
function measurePeak(threads: number) {
  const all = fmaPeak(1.5, threads);
  const one = fmaPeak(1.0, 1);
  return all === undefined || one === undefined ? undefined : { gflops: all / 1e9, singleThreadGflops: one / 1e9, threads };
}

const taskName = (t: Task, layout: string) => t.kind === 'step'
  ? `DAMPL step, context ${t.length} (130 prompts, 16+16 ctx, CSC; project: ${layout}; PyTorch: full context)`
  : `${t.tower === 'vit' ? 'ViT-B/16' : 'RN50'} image features, 224 px, batch ${t.batch} (s per image)`;

export async function runStepBench(opts: { backends?: BackendName[]; rounds?: number; steps?: number; python?: string; out?: string } = {}): Promise<StepRow[]> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rounds = opts.rounds ?? 3;
  const steps = opts.steps ?? 2;
  const rows: StepRow[] = [];
  const found = findTorchPython(opts.python);
  let torch: { server: TorchServer; header: TorchHeader } | { error: string } | undefined;
  const peaks: NonNullable<ReturnType<typeof measurePeak>>[] = [];
  let report: BackendReport | undefined;
  try {
    for (const b of opts.backends ?? ['tensorflow', 'webgpu', 'wasm']) {
      try {
        report = await selectBackend(b);
      } catch (e) {
        const error = String((e as Error).message).split('\n')[0]!;
        log(`${b}: skipped (${error})`);
        rows.push({ task: 'all', backend: b, seconds: null, pytorchSeconds: null, ratio: null, note: `unavailable: ${error}` });
        continue;
      }
      if (!opts.backends && report.device.includes('software')) {
        // a software webgpu adapter (lavapipe) runs on this CPU at a few GFLOP/s: named, not timed
        log(`${b}: skipped (${report.device})`);
        rows.push({ task: 'all', backend: b, seconds: null, pytorchSeconds: null, ratio: null, note: `skipped: ${report.device}; --backends ${b} times it` });
        continue;
      }
      const threads = report.native?.threads ?? os.cpus().length;
      torch ??= found.python ? await TorchServer.start(found.python, threads, steps).catch((e: Error) => ({ error: e.message })) : { error: found.reason! };
      if ('error' in torch) log(`pytorch: ${torch.error}`);
      const peak = measurePeak(threads);
      if (peak) peaks.push(peak);
      const device = `${report.device}${report.native ? ` + ${blasName(report.native)}; fused kernels ${report.native.kernels}` : ''}`;
      // built once each: ViT-B/16 CLIPs by text context length, and the RN50 CLIP
      const models = new Map<string, ClipModel>();
      const model = async (L: number, tower: 'vit' | 'resnet' = 'vit') => {
        const key = `${tower}-${L}`;
        return models.get(key) ?? models.set(key, await shapeModel(L, undefined, tower === 'resnet' ? RN50() : VIT_B16(L))).get(key)!;
      };
      try {
        const measured = new Map<Task, StepRow['rounds'] & object>();
        let layout = '';
        for (let r = 0; r < rounds; r++) {
          for (const t of TASKS) {
            const loadAverage = Number(os.loadavg()[0]!.toFixed(2));
            let seconds: number;
            if (t.kind === 'step') {
              const res = await timeDamplStep(await model(t.length), steps);
              seconds = res.seconds;
              layout = res.layout ?? layout;
            } else {
              // extraction runs batch after batch: each side times a batch after an untimed one, every round
              seconds = (await timeExtraction(await model(77, t.tower), 1, t.batch, true)).seconds / t.batch;
            }
            const ts = !('server' in torch) ? null
              : t.kind === 'step' ? median(await torch.server.time(t, steps)) : (await torch.server.time(t, 2))[1]! / t.batch;
            log(`${b} round ${r + 1}/${rounds}: ${taskName(t, layout)}: ${seconds.toFixed(3)} s${ts === null ? '' : `, PyTorch ${ts.toFixed(3)} s`} (load ${loadAverage})`);
            measured.set(t, [...(measured.get(t) ?? []), { seconds, pytorchSeconds: ts, loadAverage }]);
          }
        }
        const stepLayout = promptLayout(await model(77));
        for (const t of TASKS) {
          const rs = measured.get(t)!;
          const s = median(rs.map((x) => x.seconds));
          const ts = rs.every((x) => x.pytorchSeconds !== null) ? median(rs.map((x) => x.pytorchSeconds!)) : null;
          const imageWork = (project: boolean) => (t.kind === 'images' && t.tower === 'resnet' ? resnetFlops(RN50()) : imageFlops(VIT_B16(), project));
          const flops = t.kind === 'step' ? stepFlops(stepLayout, t.length, true) : imageWork(true);
          const torchFlops = t.kind === 'step' ? stepFlops(stepLayout, t.length, false) : imageWork(false);
          const gf = flops / s / 1e9;
          const tgf = ts ? torchFlops / ts / 1e9 : null;
          rows.push({
            task: taskName(t, layout), backend: device, seconds: s, pytorchSeconds: ts, ratio: ts ? s / ts : null,
            gflops: gf, pytorchGflops: tgf, rounds: rs,
          });
        }
      } finally {
        for (const m of models.values()) m.dispose();
      }
      const after = measurePeak(threads);
      if (after) peaks.push(after);
    }
  } finally {
    if (torch && 'server' in torch) torch.server.close();
  }
  if (torch && 'error' in torch) rows.push({ task: 'pytorch anchor', backend: '-', seconds: null, pytorchSeconds: null, ratio: null, note: torch.error });
  // the peak is the best of the measurements before and after each backend's tasks; every fraction uses it
  const peak = peaks.length ? peaks.reduce((a, b) => (b.gflops > a.gflops ? b : a)) : undefined;
  for (const r of rows) {
    if (r.gflops === undefined) continue;
    r.peakFraction = peak && r.gflops ? r.gflops / peak.gflops : null;
    r.pytorchPeakFraction = peak && r.pytorchGflops ? r.pytorchGflops / peak.gflops : null;
  }
  const h = torch && 'header' in torch ? torch.header : undefined;
  const record = {
    suite: 'dampl-step',
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: {
      ...machineRecord(),
      cpuId: cpuIdentity(),
      kernels: loadNativeBlas()?.kernels ?? null,
      openblasCoretype: process.env.OPENBLAS_CORETYPE ?? 'unset',
      openblasThreadTimeout: process.env.OPENBLAS_THREAD_TIMEOUT ?? 'unset',
      peak: peak ? { ...peak, measurements: peaks.map((p) => Number(p.gflops.toFixed(1))) } : null,
      pytorch: h ? `${h.torch}, ${h.threads} threads, ${h.blas || 'BLAS unknown'}, OPENBLAS_CORETYPE=${h.openblas_coretype}, OPENBLAS_THREAD_TIMEOUT=${h.openblas_thread_timeout ?? '?'}` : null,
    },
    shape: { ...STEP_SHAPE, contextLengths: CONTEXT_LENGTHS, imageBatches: IMAGE_BATCHES, timedSteps: steps, rounds },
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
    rounds: arg('rounds') ? Number(arg('rounds')) : undefined,
    steps: arg('steps') ? Number(arg('steps')) : undefined,
    python: arg('python'),
    out: arg('out'),
  });
}
