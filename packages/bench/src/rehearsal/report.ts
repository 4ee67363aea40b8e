/**
 * results/scale/README.md from a rehearsal (main.ts): what ran, the per-stage measurements and
 * the projected cost of the full real grid, with what the rehearsal exercised of the real
 * protocol and what it did not.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Provenance } from '../records.js';
import type { StageRecord } from './measure.js';
import type { MethodMeasure } from './project.js';
import type { GridCost } from './grid-cost.js';
import type { TreeShape, WrittenTree } from './trees.js';

export interface Rehearsal {
  format: 'dampl-rehearsal';
  date: string;
  seconds: number;
  fraction: number;
  seed: number;
  caps: { steps: number[]; iters: number[] };
  provenance: Omit<Provenance, 'date'>;
  model: { id: string; bytes: number };
  trees: Record<string, WrittenTree & { task: string; shape: TreeShape }>;
  encoding: Record<string, { images: number; seconds: number; secondsPerImage: number; cacheBytes: number }>;
  stages: StageRecord[];
  measures: Record<string, MethodMeasure[]>;
  projection: GridCost;
  /** What the rehearsal found wrong on the real path, and what it did to go on. */
  findings: string[];
  /** The 1-minute load average at the start and at the time of writing (others' work on the same CPUs). */
  loadAverage: number[];
  /** Datasets not measured yet (a run cut short, or still going). */
  pending: string[];
}

/** `--fraction`'s default (main.ts). */
export const DEFAULT_FRACTION = 0.05;

const gib = (b: number): string => (b / 2 ** 30).toFixed(2);
const mb = (b: number): string => (b / 1e6).toFixed(1);
function duration(s: number | null): string {
  if (s === null) return 'no GPU numbers';
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 3 * 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

function reportMarkdown(r: Rehearsal): string {
  const p = r.provenance;
  const L: string[] = [];
  L.push('# Rehearsal at true scale', '');
  L.push(`Written by \`nx run bench:rehearsal\` (\`packages/bench/src/rehearsal/\`) on ${r.date.slice(0, 10)}: the real protocol on`,
    `random weights, on ${(r.fraction * 100).toFixed(1)}% of each domain's images (every class and prompt kept), one task per`,
    `dataset, seed ${r.seed}; prompt methods capped at ${r.caps.steps.join(' and ')} steps, feature-space heads at ${r.caps.iters.join(' and ')}`,
    `iterations (two runs each, for a line through setup and per-step cost); the whole run took ${duration(r.seconds)}.`,
    'Accuracy on random weights means nothing and is not reported. Figures: `rehearsal.json`.', '');
  if (r.fraction !== DEFAULT_FRACTION) L.push(`The target's default is \`--fraction ${DEFAULT_FRACTION}\`; this run took \`--fraction ${r.fraction}\`.`, '');
  if (r.pending.length) L.push(`Not measured (the run was cut short): ${r.pending.join(', ')}.`, '');
  if (r.findings.length) L.push('## Findings', '', ...r.findings.map((f) => `- ${f}`), '');
  L.push('## Machine', '', `- backend: ${p.backend}`, `- kernels: ${p.kernels}`, `- cpu: ${p.device.cpu} x ${p.device.cpus}, ${p.device.memoryGiB} GiB`,
    `- node ${p.node}, tfjs ${p.tfjs}, ${p.os}`, `- 1-minute load average at the start and at the end: ${r.loadAverage.map((x) => x.toFixed(2)).join(' and ')} (the CPUs were shared)`, `- commit: ${p.commit}`, '');
  L.push('## Trees', '', '| dataset | task | images written | bytes | counts from | image sizes |', '| --- | --- | ---: | ---: | --- | --- |');
  for (const [d, t] of Object.entries(r.trees)) {
    const n = Object.values(t.written).flatMap((s) => Object.values(s)).reduce((a, b) => a + b, 0);
    L.push(`| ${d} | ${t.task} | ${n} | ${mb(t.bytes)} MB | ${t.shape.countsSource} | ${t.shape.sizeSource} |`);
  }
  L.push('', '## Stages', '', 'Peak RSS is the process\'s maximum resident set over the stage (VmHWM, reset at the stage\'s start);',
    'backend bytes are tf.memory() at the end of the stage and the largest sampled during it. The wasm backend\'s memory grows and',
    'never shrinks, so a stage\'s peak includes what the stages before it grew that memory to: a stage\'s own need shows where its',
    'peak rises above the stages before it. tf.memory() is sampled when the event loop is free (during loads and reads), not inside',
    'the synchronous kernels of a training step; for those stages the peak RSS is the measure.', '',
    '| stage | seconds | CPU seconds | peak RSS GiB | backend MB (end / peak) | detail |', '| --- | ---: | ---: | ---: | ---: | --- |');
  for (const s of r.stages) {
    const det = Object.entries(s.detail).filter(([k, v]) => v !== undefined && k !== 'files' && k !== 'configHash')
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : String(v)}`).join(', ');
    L.push(`| ${s.stage} | ${s.seconds.toFixed(1)} | ${s.cpuSeconds.toFixed(1)} | ${gib(s.peakRssBytes)}${s.peakRssScope === 'process' ? ' (process)' : ''} | ${mb(s.backend.numBytes)} / ${mb(s.backend.peakNumBytes)} | ${det} |`);
  }
  L.push('', '## Measured costs', '', 'Seconds an image: the encode stage\'s wall time less the model load (the load stage\'s), over the images it encoded',
    '(JPEG decode, CLIP preprocessing, the ViT-B/16 image tower, the cache write). Fit seconds are the run records\' own.', '', '| dataset | images encoded | s an image | cache bytes an image |', '| --- | ---: | ---: | ---: |');
  for (const [d, e] of Object.entries(r.encoding)) L.push(`| ${d} | ${e.images} | ${e.secondsPerImage.toFixed(3)} | ${(e.cacheBytes / e.images).toFixed(0)} |`);
  L.push('', '| dataset | method | runs (steps: fit s) | predict s |', '| --- | --- | --- | ---: |');
  for (const [d, ms] of Object.entries(r.measures)) {
    for (const m of ms) L.push(`| ${d} | ${m.method} | ${m.runs.map((x) => `${x.steps}: ${x.seconds.toFixed(2)}`).join('; ')} | ${m.predictSeconds.toFixed(2)} |`);
  }
  const g = r.projection;
  L.push('', '## Projected cost of the full real grid', '',
    `Every method, every task, seeds ${g.seeds.join(', ')} (the real suite's), at the datasets' full sizes; encoding each dataset once`,
    '(the feature cache is shared). Per-step and per-image costs are this run\'s, on CPUs shared with other work (load average above): a quiet machine is faster.',
    'GPU: ' + (g.gpu ? `from ${g.gpu.source} (${g.gpu.device}): encoding at its images a second, the prompt methods' steps at its DAMPL step scaled by the prompts; the other methods keep this CPU's figures.`
      : 'no GPU kit report was given (`--gpu gpu.json`) and none is committed, so no GPU projection is made.'), '',
    '| dataset | cells | images | encoding (CPU) | feature cache | methods (CPU) | total (CPU) | total (GPU) |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const d of g.datasets) {
    const cells = d.methods.reduce((a, m) => a + m.cells, 0);
    L.push(`| ${d.dataset} | ${cells} | ${d.images} | ${duration(d.encodeCpuSeconds)} | ${mb(d.cacheBytes)} MB | ${duration(d.cpuSeconds - d.encodeCpuSeconds)} | ${duration(d.cpuSeconds)} | ${duration(d.gpuSeconds)} |`);
  }
  L.push(`| all | | | | | | ${duration(g.cpuSeconds)} | ${duration(g.gpuSeconds)} |`);
  L.push('', '| dataset | method | cells | steps in all (the linear probe: source samples) | CPU | GPU |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const d of g.datasets) for (const m of d.methods) L.push(`| ${d.dataset} | ${m.method} | ${m.cells} | ${m.steps} | ${duration(m.cpuSeconds)} | ${duration(m.gpuSeconds)} |`);
  L.push('', ...EXERCISED, '');
  return L.join('\n');
}

const EXERCISED = [
  '## What of the real protocol this exercised',
  '',
  "- **Download path**: `openai/clip-vit-base-patch16` resolved by the bench's hub code from an empty `HF_HUB_CACHE` through",
  '  `DAMPL_HF_ENDPOINT` pointing at a mirror on 127.0.0.1: `<endpoint>/<id>/resolve/main/<file>` for config.json, the 600 MB',
  '  model.safetensors, tokenizer.json and preprocessor_config.json, written into the hub cache layout, then loaded from it',
  '  (Findings, above, says where that path fell short).',
  "- **The model's shapes**: ViT-B/16 (width 768, 12 layers, patch 16, 224 px; text width 512, 12 layers, 8 heads, vocabulary",
  "  49,408, embedding 512) in Hugging Face naming, with CLIP's real BPE tokenizer (the committed merges file): every prompt is",
  "  tokenised as the real run tokenises it. Weights are random (normal, std 0.02).",
  "- **Tree layout and indexing**: the real class folder names (Office-Home's 65, mini-DomainNet's 126), the 4 domains, Office-Home's",
  "  `<Domain>/<Class>/*.jpg` and mini-DomainNet's `splits_mini/<domain>_<split>.txt` lists, read by the data package's loaders.",
  '- **JPEG decode and CLIP preprocessing** (resize, centre crop to 224, normalise) on JPEGs of the stated sizes, and the',
  '  **feature cache** written from empty for the two domains of each task (cache bytes above).',
  "- **Every method's training loop** through `runSuite`, the bench's own grid runner (records, config hashes, tables), with the",
  "  step caps as config values (`maxSteps`; `epochs` 1 and `itersPerEpoch` for the feature-space heads); SHOT-IM and the linear",
  '  probe ran at their defaults on the fraction; zero-shot and the 80-template ensemble encode their prompts as in the real run.',
  "- **The text tower with gradients at mini-DomainNet's 252 prompts** (126 classes x 2 domains) for DAMPL and DAPL, and 130 at",
  "  Office-Home's: the peak RSS of those stages is the memory a real step needs on this machine.",
  '',
  'Not exercised: accuracy (random weights); the full epochs (projected from the per-step line: the per-epoch work, pseudo-labels',
  'and the target scoring after each epoch, is counted once, and setup is measured on the fraction, so it is a lower bound for',
  "methods whose setup reads every target feature); VisDA-2017; the other 11 tasks and 4 seeds of each dataset (projected); the",
  "real images' content (seeded noise of the same sizes: JPEG decode cost depends on size more than content); mini-DomainNet's",
  'real per-domain counts (assumed, see Trees: the data package publishes none); a GPU run.',
];

export async function writeReport(dir: string, r: Rehearsal): Promise<void> {
  await writeFile(path.join(dir, 'README.md'), reportMarkdown(r));
}
