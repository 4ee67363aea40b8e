/**
 * The suites the bench runs: which datasets, where their data is, which CLIP model, how many
 * seeds. `synth` runs anywhere (the generated world and the committed tiny CLIP); `real` runs the
 * published benchmarks whose data is present; `all` is both.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, workspaceRoot } from '@dampl/runtime';

/** The tiny CLIP trained on the synthetic world, in Hugging Face layout (committed). */
export const SYNTH_CLIP_DIR = path.join(workspaceRoot, 'packages', 'synth', 'assets', 'synth-clip');

/** Committed reference runs, one folder per suite, apart from the runs a user makes. */
const REFERENCE_RESULTS_DIR = path.join(workspaceRoot, 'results', 'reference');

/** Where the synthetic world is generated on first use. */
const SYNTH_WORLD_DIR = path.join(workspaceRoot, '.cache', 'synth', 'world');

/** Seed of the generated world (the default of generateSynthWorld). */
export const SYNTH_WORLD_SEED = 0;

/** The CLIP of the published numbers the real suite is compared with. */
export const REAL_MODEL = 'openai/clip-vit-base-patch16';

export const DEFAULT_RESULTS_DIR = path.join(workspaceRoot, 'results');

export interface SuiteDataset {
  /** Registered dataset name. */
  dataset: string;
  /** Data root. */
  root: string;
  /** Makes the data when it is absent (the synthetic world); datasets without it are skipped when absent. */
  generate?: 'synth-world';
}

export interface Suite {
  /** Results go to `<results>/<name>/`. */
  name: string;
  /** Hugging Face directory, OpenAI-layout .safetensors file, or hub id. */
  model: string;
  /** Seeds run for every cell by default. */
  seeds: number[];
  datasets: SuiteDataset[];
  /** A committed run of the suite's grid (a results folder) that the summary sets beside a run's numbers. */
  reference?: string;
  /**
   * Values the suite gives every method whose schema has the key, by the backend family that runs
   * it (under --config, --set and --sweep), with their reason.
   */
  methodValues?: (family: string) => { source: string; values: Record<string, unknown> } | undefined;
}

export const SUITES: Readonly<Record<string, Suite>> = {
  synth: {
    name: 'synth',
    model: SYNTH_CLIP_DIR,
    seeds: [1],
    datasets: [{ dataset: 'synth', root: SYNTH_WORLD_DIR, generate: 'synth-world' }],
    reference: path.join(REFERENCE_RESULTS_DIR, 'synth'),
  },
  real: {
    name: 'real',
    model: REAL_MODEL,
    // DAPL's scripts/main.sh runs every task for SEED in 1 2 3 4 5 (LeapLabTHU/DAPrompt); PDA's
    // scripts run one seed (train.py's default 2) and TLlib's example scripts --seed 0, once
    seeds: [1, 2, 3, 4, 5],
    // the anchors train on a fresh augmentation of every image in every batch: online views on a
    // GPU backend; on a CPU the affordable approximation is 4 cached augmented views (4x the extraction)
    methodValues: (family) => (family === 'wasm/cpu'
      ? { source: 'the real suite on a CPU backend: 4 cached augmented views per image', values: { views: '4' } }
      : { source: `the real suite on ${family}: online views, a fresh augmentation of every image each epoch`, values: { views: 'online' } }),
    datasets: [
      { dataset: 'office-home', root: path.join(workspaceRoot, 'datasets', 'office-home') },
      { dataset: 'mini-domainnet', root: path.join(workspaceRoot, 'datasets', 'domainnet') },
      { dataset: 'visda-2017', root: path.join(workspaceRoot, 'datasets', 'visda17') },
    ],
  },
};

/** Suite names accepted by `--suite`; `all` runs the others in turn. */
export const SUITE_CHOICES = ['synth', 'real', 'all'] as const;

export function suitesFor(choice: string): Suite[] {
  if (choice === 'all') return [SUITES.synth!, SUITES.real!];
  const s = SUITES[choice];
  if (!s) throw new ConfigError(`unknown suite '${choice}'`, `use one of: ${SUITE_CHOICES.join(', ')}`);
  return [s];
}

/** A path as shown to the user: relative to the workspace when inside it. */
export function displayPath(p: string): string {
  const rel = path.relative(workspaceRoot, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export interface SkippedDataset {
  dataset: string;
  root: string;
  reason: string;
  /** The command that gets (or checks) the data. */
  command: string;
}

/** Why a dataset without its data is skipped, and the command that gets it. */
export function missingDataset(d: SuiteDataset): SkippedDataset | undefined {
  if (d.generate || existsSync(d.root)) return undefined;
  const root = displayPath(d.root);
  return { dataset: d.dataset, root: d.root, reason: `no data at ${root}`, command: `npx dampl data download ${d.dataset} --root ${root}` };
}

/** A dataset whose root exists but cannot be indexed. */
export function unreadableDataset(d: SuiteDataset, error: Error): SkippedDataset {
  const root = displayPath(d.root);
  return {
    dataset: d.dataset, root: d.root, reason: `cannot index ${root}: ${error.message.split('\n')[0]}`,
    command: `npx dampl data check --dataset ${d.dataset} --root ${root}`,
  };
}
