import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import {
  plannedBackend, probeBackends, selectBackend, sharedReferenceDir, workspaceRoot, describeBackend,
  type BackendChoice, type BackendProbe, type SelectOptions,
} from '@dampl/runtime';
import type { GlobalOptions } from './common.js';

interface DoctorOptions extends GlobalOptions {
  json: boolean;
}

export interface DoctorReport {
  node: { version: string; ok: boolean; required: string };
  backends: BackendProbe[];
  chosen: { name: string; detail: string } | { error: string };
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
    `${label('reference')}${r.sharedReference ? `ok   ${r.sharedReference}` : 'no   ../shared/reference not found (only the reference tests need it)'}`,
    `${label('datasets')}     ${r.datasetsRoot.path}: ${r.datasetsRoot.found.length ? r.datasetsRoot.found.join(', ') : 'none yet'}`,
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
