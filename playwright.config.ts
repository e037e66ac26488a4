import { defineConfig } from '@playwright/test';

// Browser suites run in Debian's Chromium (Playwright cannot download its own browser here). WebGPU
// needs --enable-unsafe-webgpu on Linux; without a GPU Chromium uses the SwiftShader Vulkan driver
// it ships. --disable-gpu must NOT be passed: it turns WebGPU off. Pages come from Vite on
// loopback, since navigator.gpu only exists in secure contexts (localhost counts).
const PORT = Number(process.env.E2E_PORT ?? 5199);

export default defineConfig({
  testDir: 'test/e2e',
  timeout: 300_000,
  expect: { timeout: 60_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/test/e2e/pages/ping.html`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
