/**
 * `dampl bench run | merge | perf`: the benchmark grid (`nx run bench:all`), joining shards'
 * results, and the performance suites (`nx run bench:perf`).
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DamplError, workspaceRoot } from '@dampl/runtime';
import type { Report } from '../protocol.js';
import { PLUGIN_OPTION, loggerFor, registerMethods, useBackend, type GlobalOptions } from './common.js';
import { REPORT_OPTION, runCommand } from './bench-run.js';
import { slurmCommand } from './slurm.js';
import { displayPath } from '../suites.js';

interface MergeArgs extends GlobalOptions {
  dirs: string[];
  out?: string;
  report?: Report;
}

interface PerfArgs extends GlobalOptions {
  run: boolean;
  out: string;
  projects?: string[];
}

const mergeCommand: CommandModule<GlobalOptions, MergeArgs> = {
  command: 'merge <dirs..>',
  describe: 'join the results folders of shards (runs/*.json) into one and rebuild its CSV, Markdown and SVG tables',
  builder: (y) => y
    .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'results folders, e.g. shard1/results/synth shard2/results/synth' })
    .option('out', { type: 'string', describe: 'folder to write (default: the first folder)' })
    .option('report', REPORT_OPTION) as never,
  handler: async (argv) => {
    const log = loggerFor(argv);
    await registerMethods(argv);
    const { mergeResults } = await import('../merge.js');
    const r = await mergeResults(argv.dirs, argv.out ?? argv.dirs[0]!, log);
    if (argv.report) {
      const { writeTables } = await import('../tables.js');
      r.files = await writeTables(r.out, { report: argv.report, log });
    }
    process.stdout.write(`${r.records} record(s) in ${displayPath(r.out)}; wrote ${r.files.map((f) => path.basename(f)).join(', ')}\n`);
  },
};

const perfCommand: CommandModule<GlobalOptions, PerfArgs> = {
  command: 'perf',
  describe: 'run every project\'s tinybench suite (nx run-many -t bench) and write results/perf/README.md with the machine and backend',
  builder: (y) => y
    .option('run', { type: 'boolean', default: true, describe: 'run the suites (--no-run: only rebuild the README from the JSON files)' })
    .option('projects', { type: 'string', array: true, describe: 'projects to run (default: every project with a bench target)' })
    .option('out', { type: 'string', default: path.join(workspaceRoot, 'results', 'perf'), describe: 'folder of the suites\' JSON files' }) as never,
  handler: async (argv) => {
    const log = loggerFor(argv);
    const backend = await useBackend(argv, log);
    const { runPerf } = await import('../perf.js');
    const r = await runPerf({ dir: path.resolve(argv.out), run: argv.run, backend, log, projects: argv.projects });
    process.stdout.write(`${r.files.length} suite file(s); wrote ${displayPath(r.readme)}\n`);
    if (r.failed.length) throw new DamplError(`the bench suite of ${r.failed.join(', ')} failed`, 'see its output above; the README lists the suites that finished');
  },
};

interface GpuArgs extends GlobalOptions {
  step: 'measure' | 'report';
  out: string;
  quick: boolean;
}

const gpuCommand: CommandModule<GlobalOptions, GpuArgs> = {
  command: 'gpu <step>',
  describe: 'the GPU kit\'s measurements on webgpu (measure: a random ViT-B/16, its image tower, the DAMPL step) and their report beside PyTorch (report)',
  builder: (y) => y
    .positional('step', { choices: ['measure', 'report'] as const, demandOption: true, describe: 'measure: write webgpu.json and torch-spec.json; report: write gpu.json and gpu.md' })
    .option('out', { type: 'string', default: path.join(workspaceRoot, 'results', 'perf'), describe: 'folder of the kit\'s files' })
    .option('quick', { type: 'boolean', default: false, describe: 'smoke shapes for a software adapter: a test of the kit, not a measurement' }) as never,
  handler: async (argv) => {
    const log = loggerFor(argv);
    const dir = path.resolve(argv.out);
    if (argv.step === 'measure') {
      await registerMethods(argv);
      const { measureGpu } = await import('../perf/gpu.js');
      await measureGpu({ out: dir, quick: argv.quick, log });
      process.stdout.write(`wrote ${displayPath(path.join(dir, 'webgpu.json'))} and torch-spec.json\n`);
    } else {
      const { gpuReport } = await import('../perf/gpu-report.js');
      await gpuReport(dir);
      process.stdout.write(`wrote ${displayPath(path.join(dir, 'gpu.json'))} and gpu.md\n`);
    }
  },
};

export const benchCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'bench <command>',
  describe: 'the benchmark grid and its tables (run, merge), the performance suites (perf) and the GPU kit\'s measurements (gpu)',
  builder: (y: Argv<GlobalOptions>) => y
    .option('plugin', PLUGIN_OPTION)
    .command(runCommand)
    .command(mergeCommand)
    .command(perfCommand)
    .command(gpuCommand)
    .command(slurmCommand)
    .demandCommand(1, 'name a bench command: run, merge, perf, gpu or slurm') as never,
  handler: () => {},
};
