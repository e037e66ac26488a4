import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Dawn (npm `webgpu`) reads VK_ICD_FILENAMES with getenv() when it loads, so it must be in the real
// environment of the test processes, not set later through process.env inside a worker. Without a
// GPU, Debian's chromium package ships the SwiftShader Vulkan driver.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

// One config for the demo pages (vite dev/build) and the Node test suite (vitest).
// WGSL is imported with `?raw`, which vite and vitest both resolve, so shaders/ is the only source.
export default defineConfig({
  root: '.',
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
  build: {
    outDir: 'dist/demo',
    rollupOptions: { input: { index: 'index.html' } },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
