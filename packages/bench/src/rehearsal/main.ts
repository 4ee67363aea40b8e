/**
 * `nx run bench:rehearsal`: the real protocol at true scale on random weights. Builds Office-Home-
 * and mini-DomainNet-shaped trees at `--fraction` of their images (every class kept), writes a
 * random ViT-B/16 in Hugging Face layout and serves it from a hub mirror on 127.0.0.1, downloads it
 * through the bench's hub path, encodes one task per dataset into a fresh feature cache and runs
 * every method on it for one seed, twice, capped at two step counts; then projects the full real
 * grid from the measured per-image and per-step costs (project.ts) and writes `results/scale/`
 * (report.ts). Accuracy on random weights means nothing and is not reported.
 *
 *   tsx packages/bench/src/rehearsal/main.ts [--fraction 0.05] [--steps 2,5] [--iters 50,200]
 *     [--methods a,b] [--datasets office-home,mini-domainnet] [--out results/scale] [--work .cache/rehearsal]
 *     [--gpu results/gpu/gpu.json]
 *   tsx packages/bench/src/rehearsal/main.ts --report results/scale/rehearsal.json   (README.md again from the figures)
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, describeBackend, selectBackend, workspaceRoot } from '@dampl/runtime';
import { loadClip, resolveHubModel } from '@dampl/clip';
import { getMethod, resolveMethodConfig, type Method } from '@dampl/core';
import { loadMethods } from '../plugins.js';
import { provenance, readRecords } from '../records.js';
import { runSuite } from '../runner.js';
import { REAL_MODEL, SUITES } from '../suites.js';
import { serveHubMirror, writeRandomVitB16 } from './hub.js';
import { stage, type StageRecord } from './measure.js';
import { METHOD_CAPS, capKind, capOverrides, fullSteps, type MethodMeasure, type TaskSizes } from './project.js';
import { projectGrid, readGpuNumbers } from './grid-cost.js';
import { DEFAULT_FRACTION, writeReport, type Rehearsal } from './report.js';
import { TREE_SHAPES, folderBytes, writeTree, type TreeShape } from './trees.js';

const TASKS: Record<string, { task: string; source: string; target: string }> = {
  'office-home': { task: 'A-C', source: 'Art', target: 'Clipart' },
  'mini-domainnet': { task: 'c-p', source: 'clipart', target: 'painting' },
};

/** Rehearsal sizes of a task (office-home: one split "all"; mini-DomainNet: train and test). */
function taskSizes(shape: TreeShape, written: Record<string, Record<string, number>>, source: string, target: string): TaskSizes {
  const train = shape.dataset === 'office-home' ? 'all' : 'train';
  const test = shape.dataset === 'office-home' ? 'all' : 'test';
  return { source: written[source]![train]!, target: written[target]![train]!, test: written[target]![test]! };
}

const ints = (s: string, what: string): number[] => {
  const v = s.split(',').map(Number);
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1) || v[0] === v[1]) throw new ConfigError(`${what} takes two different step counts, e.g. 2,5; got '${s}'`);
  return v;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fraction: { type: 'string', default: String(DEFAULT_FRACTION) }, steps: { type: 'string', default: '2,5' }, iters: { type: 'string', default: '50,200' },
      methods: { type: 'string' }, datasets: { type: 'string', default: 'mini-domainnet,office-home' },
      out: { type: 'string', default: path.join(workspaceRoot, 'results', 'scale') }, work: { type: 'string', default: path.join(workspaceRoot, '.cache', 'rehearsal') },
      gpu: { type: 'string' }, report: { type: 'string' }, backend: { type: 'string', default: 'auto' }, seed: { type: 'string', default: '1' },
    },
  });
  if (values.report) {
    // re-renders README.md beside a rehearsal.json (after a change to report.ts)
    await writeReport(path.dirname(values.report), JSON.parse(await readFile(values.report, 'utf8')) as Rehearsal);
    return;
  }
  const fraction = Number(values.fraction);
  const stepCaps = ints(values.steps!, '--steps');
  const iterCaps = ints(values.iters!, '--iters');
  const seed = Number(values.seed);
  const datasets = values.datasets!.split(',');
  for (const d of datasets) if (!TASKS[d]) throw new ConfigError(`--datasets: no rehearsal shape for '${d}'`, `choose among ${Object.keys(TASKS).join(', ')}`);
  const log = createLogger({ level: 'info', scope: 'rehearsal' });
  const gpu = await readGpuNumbers(values.gpu);
  const loadAverage = [os.loadavg()[0]!];
  const work = path.resolve(values.work!);
  const started = new Date();
  const stages: StageRecord[] = [];
  const run = async <T>(name: string, fn: (d: Record<string, unknown>) => Promise<T>): Promise<T> => {
    log.info(`stage ${name}`);
    const { value, record } = await stage(name, fn);
    stages.push(record);
    log.info(`stage ${name}: ${record.seconds.toFixed(1)} s, peak RSS ${(record.peakRssBytes / 2 ** 30).toFixed(2)} GiB`);
    return value;
  };

  const backend = await selectBackend(values.backend as never);
  log.info(`backend ${describeBackend(backend)}`);
  await loadMethods({});
  // the prompt methods last: wasm's memory grows and never shrinks, so the stages after the
  // 252-prompt text tower would report its peak as theirs
  const order = ['iters', 'scale', 'fixed', 'maxSteps'];
  const methods = (values.methods ? values.methods.split(',') : Object.keys(METHOD_CAPS))
    .sort((a, b) => order.indexOf(METHOD_CAPS[a] ?? '') - order.indexOf(METHOD_CAPS[b] ?? ''));
  for (const m of methods) { capKind(m); getMethod(m); }

  const trees: Record<string, Awaited<ReturnType<typeof writeTree>>> = {};
  for (const d of datasets) trees[d] = await run(`tree ${d}`, async (det) => {
    const t = await writeTree(TREE_SHAPES[d as TreeShape['dataset']], path.join(work, 'data', d), fraction);
    Object.assign(det, { images: Object.values(t.written).flatMap((s) => Object.values(s)).reduce((a, b) => a + b, 0), bytes: t.bytes });
    return t;
  });

  const mirrorDir = path.join(work, 'hub-mirror', REAL_MODEL.replace('/', '--'));
  const made = await run('model: random ViT-B/16 in Hugging Face layout', async (det) => {
    const r = await writeRandomVitB16(mirrorDir);
    Object.assign(det, { bytes: r.bytes, written: r.written });
    return r;
  });
  const hub = path.join(work, 'hub');
  await rm(hub, { recursive: true, force: true });
  process.env.HF_HUB_CACHE = hub;
  delete process.env.HF_HUB_OFFLINE;
  const mirror = await serveHubMirror(REAL_MODEL, mirrorDir);
  process.env.DAMPL_HF_ENDPOINT = mirror.endpoint;
  try {
    await run('download from the hub mirror', async (det) => {
      const dir = await resolveHubModel(REAL_MODEL, { logger: log, xenovaCacheDir: path.join(work, 'no-xenova') });
      Object.assign(det, { endpoint: mirror.endpoint, files: mirror.served, snapshot: path.relative(work, dir) });
    });
  } finally {
    await mirror.close();
  }
  const findings: string[] = [];
  await run('load ViT-B/16', async (det) => {
    const opts = { logger: log, xenovaCacheDir: path.join(work, 'no-xenova'), offline: true };
    const m = await loadClip(REAL_MODEL, opts).catch(async (e: unknown) => {
      // a download that leaves out a file the loader needs is a finding of the rehearsal; the
      // missing files are copied from the mirror so that the other stages still run
      const snapshot = await resolveHubModel(REAL_MODEL, opts);
      const missing = (await readdir(mirrorDir)).filter((f) => !existsSync(path.join(snapshot, f)) && f !== 'rehearsal.json');
      if (!missing.length) throw e;
      findings.push(`loading the downloaded ${REAL_MODEL} failed: ${(e as Error).message.split('\n')[0]}; the download fetched ${mirror.served.map((x) => x.file).join(', ')}, `
        + `not ${missing.join(', ')} (the hub path's file list); the rehearsal copied those from the mirror to go on`);
      log.warn(findings.at(-1)!);
      for (const f of missing) await copyFile(path.join(mirrorDir, f), path.join(snapshot, f));
      return loadClip(REAL_MODEL, opts);
    });
    det.weightsHash = m.weightsHash;
    m.dispose();
  });
  const loadSeconds = stages.at(-1)!.seconds;

  // written after each dataset, so that a run cut short keeps what it measured
  const emit = async (done: string[]): Promise<void> => {
    const projection = projectGrid({ datasets: done, measures, configs, encoding, gpu });
    const prov = provenance({ line: describeBackend(backend), name: backend.name, device: backend.device });
    const result: Rehearsal = {
      format: 'dampl-rehearsal', date: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000, fraction, seed,
      caps: { steps: stepCaps, iters: iterCaps }, provenance: prov, loadAverage: [...loadAverage, os.loadavg()[0]!], model: { id: REAL_MODEL, bytes: made.bytes },
      trees: Object.fromEntries(done.map((d) => [d, { ...trees[d]!, root: path.relative(workspaceRoot, trees[d]!.root), task: TASKS[d]!.task, shape: TREE_SHAPES[d as TreeShape['dataset']] }])),
      encoding, stages, measures, projection, findings, pending: datasets.filter((d) => !done.includes(d)),
    };
    await mkdir(values.out!, { recursive: true });
    await writeFile(path.join(values.out!, 'rehearsal.json'), JSON.stringify(result, null, 1) + '\n');
    await writeReport(values.out!, result);
    log.info(`wrote ${path.relative(workspaceRoot, values.out!)}/rehearsal.json and README.md (${done.join(', ')}) after ${(result.seconds / 60).toFixed(1)} min`);
  };
  const resultsDir = path.join(work, 'results');
  const cacheDir = path.join(work, 'features');
  await rm(resultsDir, { recursive: true, force: true });
  await rm(cacheDir, { recursive: true, force: true });
  const common = { suite: SUITES.real!, resultsDir, cacheDir, model: REAL_MODEL, seeds: [seed], backend, log: log.child('bench'), print: () => {}, warnSkipped: false };
  const measures: Record<string, MethodMeasure[]> = {};
  const configs: Record<string, Record<string, Record<string, unknown>>> = {};
  const encoding: Record<string, { images: number; seconds: number; secondsPerImage: number; cacheBytes: number }> = {};
  for (const d of datasets) {
    const { task, source, target } = TASKS[d]!;
    const shape = TREE_SHAPES[d as TreeShape['dataset']];
    const sizes = taskSizes(shape, trees[d]!.written, source, target);
    const roots = { [d]: trees[d]!.root };
    const images = shape.dataset === 'office-home' ? sizes.source + sizes.target : sizes.source + sizes.target + sizes.test;
    const before = await folderBytes(cacheDir);
    const enc = await run(`encode ${d} ${task}`, async (det) => {
      await runSuite({ ...common, datasets: [d], tasks: [task], roots, methods: ['zero-shot'], prepareOnly: true });
      const cacheBytes = (await folderBytes(cacheDir)) - before;
      Object.assign(det, { images, cacheBytes });
      return cacheBytes;
    });
    // the stage loads the model before it encodes: its load time (the load stage's) is taken off
    const encodeSeconds = Math.max(0, stages.at(-1)!.seconds - loadSeconds);
    encoding[d] = { images, seconds: encodeSeconds, secondsPerImage: encodeSeconds / images, cacheBytes: enc };
    measures[d] = [];
    configs[d] = {};
    for (const m of methods) {
      const method = getMethod(m) as Method<unknown>;
      configs[d]![m] = await resolveMethodConfig(method, { dataset: d }) as Record<string, unknown>;
      const kind = capKind(m);
      const caps = kind === 'maxSteps' ? stepCaps : kind === 'iters' ? iterCaps : [0];
      const mm: MethodMeasure = { method: m, kind, runs: [], sizes, predictSeconds: 0 };
      for (const cap of caps) {
        await run(`${d} ${task} ${m}${cap ? ` capped at ${cap} steps` : ''}`, async (det) => {
          const own = path.join(resultsDir, `${d}-${m}-${cap}`);
          const r = await runSuite({ ...common, resultsDir: own, datasets: [d], tasks: [task], roots, methods: [m], overrides: cap ? { [m]: capOverrides(m, cap) } : undefined });
          const rec = (await readRecords(path.join(own, 'real'))).get(r.outcomes[0]!.cell.key)!;
          const capped = { ...configs[d]![m], ...capOverrides(m, cap) };
          const steps = kind === 'fixed' ? 0 : kind === 'scale' ? fullSteps(m, capped, sizes) : rec.history.at(-1)?.step ?? fullSteps(m, capped, sizes);
          mm.runs.push({ steps, seconds: rec.timings.fitSeconds });
          mm.predictSeconds = rec.timings.predictSeconds;
          Object.assign(det, { steps, fitSeconds: rec.timings.fitSeconds, predictSeconds: rec.timings.predictSeconds, configHash: rec.configHash, prompts: kind === 'maxSteps' ? 2 * shape.classes.length : undefined });
        });
      }
      measures[d]!.push(mm);
    }
    await emit(datasets.slice(0, datasets.indexOf(d) + 1));
  }

  if (!existsSync(path.join(values.out!, 'README.md'))) throw new Error('README.md was not written');
}

await main();
