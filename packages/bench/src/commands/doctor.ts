import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { probeBackends, selectBackend, sharedReferenceDir, workspaceRoot, describeBackend } from '@dampl/runtime';
import type { GlobalOptions } from './common.js';

interface DoctorOptions extends GlobalOptions {
  json: boolean;
}

export interface DoctorReport {
  node: { version: string; ok: boolean; required: string };
  backends: { name: string; ok: boolean; detail: string }[];
  chosen: { name: string; detail: string } | { error: string };
  sharedReference: string | null;
  datasetsRoot: { path: string; found: string[] };
}

const REQUIRED_NODE = [20, 19];

export async function doctor(backend: GlobalOptions['backend']): Promise<DoctorReport> {
  const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
  const nodeOk = maj > REQUIRED_NODE[0]! || (maj === REQUIRED_NODE[0] && min >= REQUIRED_NODE[1]!);
  const backends = await probeBackends();
  let chosen: DoctorReport['chosen'];
  try {
    const r = await selectBackend(backend);
    chosen = { name: r.name, detail: describeBackend(r) };
  } catch (e) {
    chosen = { error: (e as Error).message };
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

export const doctorCommand: CommandModule<GlobalOptions, DoctorOptions> = {
  command: 'doctor',
  describe: 'check Node, the compute backends, the reference files and the dataset roots',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as never,
  handler: async (argv) => {
    const r = await doctor(argv.backend);
    if (argv.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const mark = (ok: boolean) => (ok ? 'ok  ' : 'no  ');
    const lines = [
      `node        ${mark(r.node.ok)}${r.node.version} (needs ${r.node.required})`,
      'backends',
      ...r.backends.map((b) => `  ${b.name.padEnd(11)}${mark(b.ok)}${b.detail}`),
      'error' in r.chosen ? `chosen      --  ${r.chosen.error}` : `chosen      ${r.chosen.detail}`,
      `reference   ${r.sharedReference ? `ok  ${r.sharedReference}` : 'no  ../shared/reference not found (only the reference tests need it)'}`,
      `datasets    ${r.datasetsRoot.path}: ${r.datasetsRoot.found.length ? r.datasetsRoot.found.join(', ') : 'none yet'}`,
    ].filter((l) => l !== '');
    process.stdout.write(lines.join('\n') + '\n');
  },
};
