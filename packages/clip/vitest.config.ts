import { defineConfig } from 'vitest/config';

// DAMPL_TEST_BACKEND=webgpu (nx run clip:test:webgpu): the OpenAI references on the webgpu backend
const webgpu = process.env.DAMPL_TEST_BACKEND === 'webgpu';

export default defineConfig({
  test: {
    include: webgpu ? ['src/model.test.ts', 'src/**/*.webgpu.test.ts'] : ['src/**/*.test.ts'],
    exclude: ['src/**/*.slow.test.ts', ...(webgpu ? [] : ['src/**/*.webgpu.test.ts'])],
    testTimeout: webgpu ? 300_000 : 60_000,
    hookTimeout: webgpu ? 300_000 : 60_000,
    pool: 'forks',
    fileParallelism: !webgpu,
  },
});
