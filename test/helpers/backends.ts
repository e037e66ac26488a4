// Run a suite once per backend: the WebGPU kernels (Dawn on SwiftShader here) and the CPU backend's
// WebAssembly kernels, with the same expectations and tolerances. WGPOOL_TEST_BACKENDS=cpu (or
// webgpu) narrows the run, e.g. on a machine without Vulkan.
import { describe } from 'vitest';
import type { BackendChoice } from '../../src/backend';

export const BACKENDS: BackendChoice[] = (process.env.WGPOOL_TEST_BACKENDS ?? 'webgpu,cpu').split(',').map((b) => b.trim() as BackendChoice);

/** describe(`${name} [backend]`, …) for every backend under test that the suite's fixture runs on. */
export function describeBackends(name: string, suite: (backend: BackendChoice) => void): void {
  // Every fixture runs on both: each kernel option the architectures use has a CPU twin
  // (src/cpu/kernels.ts), held to the same tolerances.
  for (const backend of BACKENDS) {
    describe(`${name} [${backend}]`, () => suite(backend));
  }
}
