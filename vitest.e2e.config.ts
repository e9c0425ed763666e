import { defineConfig } from 'vitest/config';

// Browser tests: build once, then drive Chromium (WebGPU on SwiftShader) against dist/. One file at a time:
// SwiftShader and the Node-side reference engine both use every core.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.ts'],
    globalSetup: ['tests/e2e/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
