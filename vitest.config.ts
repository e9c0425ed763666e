import { defineConfig } from 'vitest/config';

// Unit tests run real WebGPU in Node (Dawn + SwiftShader): one worker, one file at a time, one GPU
// device per run; SwiftShader already uses every core.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
