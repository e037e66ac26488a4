import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

// The kernel suites again, this time inside headless Chromium (WebGPU from navigator.gpu on
// SwiftShader): the same test files and CPU references as the Node run on Dawn, so both ways of
// getting WebGPU are proven on every kernel.
export default defineConfig({
  test: {
    include: ['src/kernels/*.test.ts', 'src/cpu/kernels.test.ts', 'src/cpu/search_kernels.test.ts', 'src/cpu/kernels_arch.test.ts', 'src/cpu/threads.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
