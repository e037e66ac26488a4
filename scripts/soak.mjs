#!/usr/bin/env node
// The long soak (issue 16): the soak suite (test/hardening/soak.test.ts) with 10,000 requests per
// backend and 100 create/use/dispose cycles on each, instead of CI's smaller counts. The suite prints its
// numbers (answered / aborted / 429, heap and live buffers before and after) at the end.
//
//   node scripts/soak.mjs                 # 10,000 requests on the CPU, 10,000 on WebGPU (SwiftShader here)
//   node scripts/soak.mjs 20000 cpu       # count, backends
import { spawnSync } from 'node:child_process';

const requests = process.argv[2] ?? '10000';
const backends = process.argv[3] ?? 'webgpu,cpu';
const env = {
  ...process.env,
  // The suite divides the WebGPU count by 10 for CI; undo that here so both backends get `requests`.
  WGPOOL_SOAK_REQUESTS: requests,
  WGPOOL_SOAK_WEBGPU_REQUESTS: requests,
  WGPOOL_SOAK_CYCLES: process.env.WGPOOL_SOAK_CYCLES ?? '100',
  // CI does 2 cycles on SwiftShader (each load compiles the pipelines again, ~30 s there); the long
  // run does the full count on every backend.
  WGPOOL_SOAK_WEBGPU_CYCLES: process.env.WGPOOL_SOAK_WEBGPU_CYCLES ?? process.env.WGPOOL_SOAK_CYCLES ?? '100',
  WGPOOL_TEST_BACKENDS: backends,
  VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
};
const run = spawnSync('npx', ['vitest', 'run', 'test/hardening/soak.test.ts', '--testTimeout=7200000'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
