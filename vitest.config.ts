/**
 * The workspace's one vitest configuration: a vitest project per package (every folder under
 * packages/ that has a project.json, found at run time, method packages made by the generator
 * included), named as its Nx project; `nx run <project>:test` runs `vitest run --project <name>`.
 *
 * Test modes (DAMPL_TEST, set by the test targets):
 *   (unset)   the default run, `npm test`: *.test.ts, needing nothing beyond the clone
 *   native    *.native.test.ts: the native kernels with a BLAS (apt-get install libopenblas0-pthread)
 *   webgpu    *.webgpu.test.ts: a webgpu adapter (a GPU, or lavapipe on the CPU)
 *   shared    *.shared.test.ts: ../shared/reference beside the checkout (DAMPL_SHARED)
 *   slurm     *.slurm.test.ts: a single-node SLURM cluster started by the test (slurm-wlm, munge, root)
 * A test that needs what its mode names fails, saying what is missing, rather than skipping.
 *
 * A package may set, in its package.json, `"dampl": { "test": { "roots": ["src", "generators"],
 * "also": { "webgpu": ["src/model.test.ts"] } } }`: the folders its tests are in (default src),
 * and files a mode runs besides its own suffix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const TEST_MODES = ['native', 'webgpu', 'shared', 'slurm'] as const;
type Mode = (typeof TEST_MODES)[number];
interface TestSettings { roots?: string[]; also?: Partial<Record<Mode, string[]>> }

const root = path.dirname(fileURLToPath(import.meta.url));
const mode = process.env.DAMPL_TEST as Mode | undefined;
if (mode && !TEST_MODES.includes(mode)) throw new Error(`DAMPL_TEST=${mode}: use one of ${TEST_MODES.join(', ')}, or leave it unset`);

/** Folders under packages/ (two levels deep) holding a project.json: the Nx projects. */
function projectDirs(dir = path.join(root, 'packages'), depth = 2): string[] {
  if (depth === 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const d = path.join(dir, e.name);
    if (existsSync(path.join(d, 'project.json'))) out.push(d);
    else out.push(...projectDirs(d, depth - 1));
  }
  return out.sort();
}

function project(dir: string) {
  const name = (JSON.parse(readFileSync(path.join(dir, 'project.json'), 'utf8')) as { name: string }).name;
  const pkg = path.join(dir, 'package.json');
  const settings: TestSettings = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { dampl?: { test?: TestSettings } }).dampl?.test ?? {} : {};
  const roots = settings.roots ?? ['src'];
  const tests = (suffix: string) => roots.map((r) => `${r}/**/*${suffix}`);
  return {
    test: {
      name,
      root: dir,
      include: mode ? [...tests(`.${mode}.test.ts`), ...(settings.also?.[mode] ?? [])] : tests('.test.ts'),
      exclude: ['**/node_modules/**', ...(mode ? [] : TEST_MODES.flatMap((m) => tests(`.${m}.test.ts`)))],
      testTimeout: mode === 'webgpu' ? 600_000 : mode === 'slurm' ? 300_000 : 60_000,
      hookTimeout: mode === 'webgpu' ? 300_000 : 60_000,
      pool: 'forks' as const,
      // one GPU (or one software device) at a time
      fileParallelism: mode !== 'webgpu',
    },
  };
}

export default defineConfig({ test: { projects: projectDirs().map(project) } });
