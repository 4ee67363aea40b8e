/**
 * `dampl bench perf` (`nx run bench:perf`): runs the tinybench suite of every project that has a
 * `bench` target (`nx run-many -t bench`, one at a time so that they do not share the cores),
 * each writing `results/perf/<suite>.json`, then writes `results/perf/README.md`: the machine,
 * the backend this machine selects, and each suite's table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DamplError, atomicWriteFile, describeBackend, gitCommit, workspaceRoot, type BackendReport, type Logger } from '@dampl/runtime';

export interface PerfOptions {
  /** results/perf */
  dir: string;
  /** Run the projects' bench targets first (else only rebuild the README from the JSON files present). */
  run: boolean;
  backend?: BackendReport;
  log: Logger;
  /** Projects to run (default: every project with a bench target). */
  projects?: string[];
  /** The README whose ratio section is rewritten (default: the workspace's). */
  projectReadme?: string;
}

export const PERF_START = '<!-- perf:start (nx run bench:perf rewrites this section) -->';
export const PERF_END = '<!-- perf:end -->';

/** The project / PyTorch table of results/perf/dampl-step.json, with its machine and date. */
export function ratioTable(data: { date?: unknown; commit?: unknown; machine?: object; results?: readonly object[] }): string {
  const m = (data.machine ?? {}) as Record<string, unknown>;
  const rows = (data.results ?? []) as {
    task?: string; backend?: string; seconds?: number | null; pytorchSeconds?: number | null; ratio?: number | null;
    gflops?: number | null; pytorchGflops?: number | null; peakFraction?: number | null; pytorchPeakFraction?: number | null; note?: string;
  }[];
  const f = (x: number | null | undefined, d: number) => (typeof x === 'number' ? x.toFixed(d) : '-');
  const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${(100 * x).toFixed(0)}%` : '-');
  const peak = m.peak as { gflops?: number; singleThreadGflops?: number; threads?: number } | null | undefined;
  const peakLine = peak?.gflops
    ? ` fp32 FMA peak measured in the run: ${peak.gflops.toFixed(0)} GFLOP/s on ${peak.threads} threads (${f(peak.singleThreadGflops, 0)} on one), fused kernels ${String(m.kernels ?? '?')}.`
    : '';
  return [
    `Measured ${String(data.date ?? '').slice(0, 10)} on ${String(m.cpuId ?? m.cpu ?? '?')} × ${m.cpus ?? '?'}, ${m.memoryGiB ?? '?'} GiB (load average ${m.loadAverage ?? '?'}), Node ${m.node ?? '?'}, tfjs ${m.tfjs ?? '?'}; PyTorch ${m.pytorch ?? 'not run'}; commit ${String(data.commit ?? '').slice(0, 7)}.${peakLine} Ratio = project time / PyTorch time (below 1: faster), medians of interleaved rounds; GFLOP/s on the work each side does.`,
    '',
    '| task | backend | project (s) | PyTorch (s) | ratio | project GFLOP/s (of peak) | PyTorch GFLOP/s (of peak) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.task ?? ''} | ${r.backend ?? ''} | ${f(r.seconds, 3)} | ${f(r.pytorchSeconds, 3)} | ${f(r.ratio, 2)}${r.note ? ` (${r.note})` : ''} | ${f(r.gflops, 0)} (${pct(r.peakFraction)}) | ${f(r.pytorchGflops, 0)} (${pct(r.pytorchPeakFraction)}) |`),
  ].join('\n');
}

/** text with the section between PERF_START and PERF_END replaced, or undefined without the markers. */
export function replaceSection(text: string, body: string): string | undefined {
  const a = text.indexOf(PERF_START);
  const b = text.indexOf(PERF_END);
  if (a < 0 || b < a) return undefined;
  return `${text.slice(0, a + PERF_START.length)}\n${body}\n${text.slice(b)}`;
}

interface PerfFile {
  suite?: string;
  date?: string;
  machine?: Record<string, unknown>;
  results?: Record<string, unknown>[];
  [k: string]: unknown;
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
};

export function perfMarkdown(files: { name: string; data: PerfFile }[], machine: Record<string, string>): string {
  const out = ['# Performance', '', 'Written by `nx run bench:perf` (`dampl bench perf`): the tinybench suite of every project with a `bench` target (`nx run <project>:bench`, one at a time) writes a JSON file here.', ''];
  out.push('## Machine', '');
  for (const [k, v] of Object.entries(machine)) out.push(`- ${k}: ${v}`);
  for (const f of files) {
    out.push('', `## ${f.data.suite ?? f.name} (${f.name})`, '');
    if (f.data.date) out.push(`- date: ${f.data.date}`);
    for (const [k, v] of Object.entries(f.data.machine ?? {})) out.push(`- ${k}: ${cell(v)}`);
    const rows = Array.isArray(f.data.results) ? f.data.results : [];
    if (!rows.length) continue;
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    out.push('', `| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`);
    for (const r of rows) out.push(`| ${cols.map((c) => cell(r[c])).join(' | ')} |`);
  }
  return out.join('\n') + '\n';
}

/** Projects of the workspace that have a `bench` target. */
function benchProjects(): string[] {
  const r = spawnSync('npx', ['nx', 'show', 'projects', '--with-target', 'bench', '--json'], { cwd: workspaceRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new DamplError(`nx show projects failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return (JSON.parse(r.stdout) as string[]).sort();
}

export async function runPerf(o: PerfOptions): Promise<{ files: string[]; readme: string; failed: string[] }> {
  const { log } = o;
  const failed: string[] = [];
  if (o.run) {
    const projects = o.projects ?? benchProjects();
    if (!projects.length) log.warn('no project has a bench target');
    for (const p of projects) {
      log.info(`nx run ${p}:bench`);
      const r = spawnSync('npx', ['nx', 'run', `${p}:bench`, '--outputStyle=stream', '--skip-nx-cache'], { cwd: workspaceRoot, stdio: 'inherit' });
      if (r.status !== 0) {
        failed.push(p);
        log.error(`${p}:bench exited with ${r.status ?? r.signal}; its results are left out`);
      }
    }
  }
  await mkdir(o.dir, { recursive: true });
  const names = existsSync(o.dir) ? (await readdir(o.dir)).filter((f) => f.endsWith('.json')).sort() : [];
  const files: { name: string; data: PerfFile }[] = [];
  for (const name of names) {
    try {
      files.push({ name, data: JSON.parse(await readFile(path.join(o.dir, name), 'utf8')) as PerfFile });
    } catch (e) {
      log.warn(`ignoring ${name}: ${(e as Error).message}`);
    }
  }
  const cpus = os.cpus();
  const machine: Record<string, string> = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    'backend selected by default': o.backend ? describeBackend(o.backend) : 'not probed',
    commit: gitCommit(),
  };
  const readme = path.join(o.dir, 'README.md');
  await atomicWriteFile(readme, perfMarkdown(files, machine));
  log.info(`wrote ${readme} from ${files.length} suite file(s)`);
  const step = files.find((f) => f.data.suite === 'dampl-step');
  const top = o.projectReadme ?? path.join(workspaceRoot, 'README.md');
  if (step && existsSync(top)) {
    const text = await readFile(top, 'utf8');
    const updated = replaceSection(text, ratioTable(step.data));
    if (updated === undefined) log.warn(`${top} has no '${PERF_START}' ... '${PERF_END}' section; the ratio table is only in ${readme}`);
    else if (updated !== text) {
      await atomicWriteFile(top, updated);
      log.info(`updated the ratio table in ${top}`);
    }
  }
  return { files: files.map((f) => path.join(o.dir, f.name)), readme, failed };
}
