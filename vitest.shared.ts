/**
 * Every package's vitest configuration, by test mode (DAMPL_TEST, set by the `test` target's
 * configurations: nx run <project>:test:<mode>):
 *
 *   (unset)   the default run, `npm test`: *.test.ts, needing nothing beyond the clone
 *   native    *.native.test.ts: the native kernels with a BLAS (apt-get install libopenblas0-pthread)
 *   webgpu    *.webgpu.test.ts: a webgpu adapter (a GPU, or lavapipe on the CPU)
 *   shared    *.shared.test.ts: ../shared/reference beside the checkout (DAMPL_SHARED)
 *   slurm     *.slurm.test.ts: a single-node SLURM cluster started by the test (slurm-wlm, munge, root)
 *
 * A test that needs what its mode names fails, saying what is missing, rather than skipping.
 */
import { defineConfig } from 'vitest/config';

export const TEST_MODES = ['native', 'webgpu', 'shared', 'slurm'] as const;
type Mode = (typeof TEST_MODES)[number];

export function packageTestConfig(o: { roots?: string[]; also?: Partial<Record<Mode, string[]>> } = {}) {
  const mode = process.env.DAMPL_TEST as Mode | undefined;
  if (mode && !TEST_MODES.includes(mode)) throw new Error(`DAMPL_TEST=${mode}: use one of ${TEST_MODES.join(', ')}, or leave it unset`);
  const roots = o.roots ?? ['src'];
  const tests = (suffix: string) => roots.map((r) => `${r}/**/*${suffix}`);
  return defineConfig({
    test: {
      include: mode ? [...tests(`.${mode}.test.ts`), ...(o.also?.[mode] ?? [])] : tests('.test.ts'),
      exclude: ['**/node_modules/**', ...(mode ? [] : TEST_MODES.flatMap((m) => tests(`.${m}.test.ts`)))],
      testTimeout: mode === 'webgpu' ? 600_000 : mode === 'slurm' ? 300_000 : 60_000,
      hookTimeout: mode === 'webgpu' ? 300_000 : 60_000,
      pool: 'forks',
      // one GPU (or one software device) at a time
      fileParallelism: mode !== 'webgpu',
    },
  });
}
