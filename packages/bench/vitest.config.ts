import { defineConfig } from 'vitest/config';

// DAMPL_TEST_BACKEND=webgpu (nx run bench:test:webgpu): the GPU route's tests, *.webgpu.test.ts
const webgpu = process.env.DAMPL_TEST_BACKEND === 'webgpu';

export default defineConfig({
  test: {
    include: webgpu ? ['src/**/*.webgpu.test.ts'] : ['src/**/*.test.ts'],
    exclude: ['src/**/*.slow.test.ts', ...(webgpu ? [] : ['src/**/*.webgpu.test.ts'])],
    testTimeout: webgpu ? 600_000 : 60_000,
    hookTimeout: webgpu ? 300_000 : 60_000,
    pool: 'forks',
    fileParallelism: !webgpu,
  },
});
