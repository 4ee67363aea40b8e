import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import {
  kernelReport, plannedBackend, probeBackends, productGflops, selectBackend, sharedReferenceDir, workspaceRoot, describeBackend,
  type BackendChoice, type BackendProbe, type KernelReport, type SelectOptions,
} from '@dampl/runtime';
import type { GlobalOptions } from './common.js';

interface DoctorOptions extends GlobalOptions {
  json: boolean;
}

export interface DoctorReport {
  node: { version: string; ok: boolean; required: string };
  backends: BackendProbe[];
  chosen: { name: string; detail: string } | { error: string };
  /** The wasm and cpu backends' kernels, and a float32 product's GFLOP/s on wasm with and without the BLAS. */
  kernels: KernelReport & { wasmThreads: number | null; gflops?: { n: number; tfjs: number; native?: number } };
  sharedReference: string | null;
  datasetsRoot: { path: string; found: string[] };
}

const REQUIRED_NODE = [20, 19];

/**
 * What this machine can run. The webgpu row comes from a child process (Dawn's messages stay out
 * of the output, summarised in one line), and webgpu is never activated here: a chosen webgpu is
 * reported from that probe.
 */
export async function doctor(backend: BackendChoice, options: SelectOptions = {}): Promise<DoctorReport> {
  const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
  const nodeOk = maj > REQUIRED_NODE[0]! || (maj === REQUIRED_NODE[0] && min >= REQUIRED_NODE[1]!);
  const backends = await probeBackends(options);
  const kernels: DoctorReport['kernels'] = { ...kernelReport(), wasmThreads: null };
  if (backends.find((b) => b.name === 'wasm')?.ok) {
    const w = await selectBackend('wasm', options);
    kernels.wasmThreads = w.threads ?? null;
    kernels.gflops = await productGflops();
  }
  const plan = plannedBackend(backends, backend);
  let chosen: DoctorReport['chosen'];
  if (!plan) {
    const row = backends.find((b) => b.name === backend);
    chosen = { error: row ? `backend '${backend}' is not available: ${row.detail}` : 'no backend loads' };
  } else if (plan.name === 'webgpu') {
    const passed = backend === 'auto' ? backends.slice(0, backends.indexOf(plan)).map((b) => `not ${b.name}: ${b.detail}`) : [];
    chosen = { name: plan.name, detail: [`webgpu: ${plan.detail}`, ...passed].join('; ') };
  } else {
    try {
      const r = await selectBackend(backend === 'auto' ? 'auto' : plan.name, options);
      chosen = { name: r.name, detail: describeBackend(r) };
    } catch (e) {
      chosen = { error: (e as Error).message };
    }
  }
  const datasets = path.join(workspaceRoot, 'datasets');
  const found = existsSync(datasets)
    ? (await import('node:fs')).readdirSync(datasets, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    : [];
  return {
    node: { version: process.versions.node, ok: nodeOk, required: `>=${REQUIRED_NODE.join('.')}` },
    backends,
    chosen,
    kernels,
    sharedReference: sharedReferenceDir() ?? null,
    datasetsRoot: { path: datasets, found },
  };
}

/** The report as doctor prints it. */
export function doctorLines(r: DoctorReport): string[] {
  const mark = (b: Pick<BackendProbe, 'ok' | 'autoSkips'>) => (!b.ok ? 'no' : b.autoSkips ? 'skip' : 'ok').padEnd(5);
  const label = (s: string) => s.padEnd(13);
  return [
    `${label('node')}${mark({ ok: r.node.ok })}${r.node.version} (needs ${r.node.required})`,
    'backends',
    ...r.backends.flatMap((b) => [
      `${label(`  ${b.name}`)}${mark(b)}${b.detail}${b.autoSkips ? `: skipped by auto, ${b.autoSkips}; --backend ${b.name} uses it` : ''}`,
      ...(b.messages !== undefined ? [`${label('')}     Dawn: ${b.messages}`] : []),
    ]),
    'error' in r.chosen ? `${label('chosen')}--   ${r.chosen.error}` : `${label('chosen')}     ${r.chosen.detail}`,
    ...kernelLines(r.kernels, label, mark),
    `${label('reference')}${r.sharedReference ? `ok   ${r.sharedReference}` : 'no   ../shared/reference not found (only the reference tests need it)'}`,
    `${label('datasets')}     ${r.datasetsRoot.path}: ${r.datasetsRoot.found.length ? r.datasetsRoot.found.join(', ') : 'none yet'}`,
  ];
}

/** The kernels rows: the addon, the BLAS (or the command that brings one), what it is worth here, wasm's threads. */
function kernelLines(k: DoctorReport['kernels'], label: (s: string) => string, mark: (b: { ok: boolean; autoSkips?: string }) => string): string[] {
  const g = k.gflops;
  const worth = g ? `${g.n}x${g.n}x${g.n} float32 product on wasm: ${g.native !== undefined ? `${g.native.toFixed(0)} GFLOP/s through the BLAS, ` : ''}${g.tfjs.toFixed(0)} GFLOP/s on tfjs-wasm's own kernel` : '';
  return [
    'kernels (wasm and cpu backends)',
    `${label('  addon')}${mark({ ok: k.addon.built })}${k.addon.path}${k.addon.built ? '' : ': not built (npm ci builds it with the system C compiler and Node\'s headers; node packages/runtime/native/build.mjs says why not)'}`,
    k.blas
      ? `${label('  BLAS')}${mark({ ok: true })}${k.blas.name} from ${k.blas.library}${k.blas.coretype ? `, OPENBLAS_CORETYPE=${k.blas.coretype}` : ''}`
      : `${label('  BLAS')}${mark({ ok: false })}${k.blasError}; without it matrix products and CLIP's frozen blocks run on tfjs's kernels`,
    ...(k.blas ? [`${label('  fused')}     ${k.blas.kernels} code path of the layer-norm, GELU, softmax, attention and patch kernels (this build and CPU run: ${k.blas.kernelPaths.join(', ')}; DAMPL_KERNELS picks one)`] : []),
    ...(worth ? [`${label('  products')}     ${worth}${g!.native !== undefined ? ` (${(g!.native / g!.tfjs).toFixed(1)}x)` : ''}`] : []),
    `${label('  cpu')}     ${k.cpu.length ? k.cpu.join(' ') : 'no AVX2/AVX-512 flags read'}`,
    `${label('  wasm')}     ${k.wasmThreads ?? '-'} thread${k.wasmThreads === 1 ? '' : 's'}: tfjs-wasm's threaded build does not run in Node; the BLAS's threads and --jobs (one worker per core) use the cores`,
  ];
}

export const doctorCommand: CommandModule<GlobalOptions, DoctorOptions> = {
  command: 'doctor',
  describe: 'check Node, the compute backends, the reference files and the dataset roots',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as never,
  handler: async (argv) => {
    const r = await doctor(argv.backend);
    process.stdout.write(argv.json ? JSON.stringify(r, null, 2) + '\n' : doctorLines(r).join('\n') + '\n');
  },
};
