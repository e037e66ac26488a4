// Run a suite once per backend: the WebGPU kernels (Dawn on SwiftShader here) and the CPU backend's
// WebAssembly kernels, with the same expectations and tolerances. WGPOOL_TEST_BACKENDS=cpu (or
// webgpu) narrows the run, e.g. on a machine without Vulkan.
import { describe } from 'vitest';
import type { BackendChoice } from '../../src/backend';

export const BACKENDS: BackendChoice[] = (process.env.WGPOOL_TEST_BACKENDS ?? 'webgpu,cpu').split(',').map((b) => b.trim() as BackendChoice);

/**
 * Fixtures whose every kernel has a CPU twin. The architectures added with issue 18 (windowed and
 * relative-bias attention, GLU, Gemma's RMSNorm, ReLU heads …) still run on WebGPU only: their
 * kernels have no WebAssembly implementation yet, and the CPU backend refuses them with a clear error.
 */
const CPU_FIXTURES = [
  'tiny-bert-embed', 'tiny-bert-embed-short', 'tiny-bert-cls-pool', 'tiny-roberta-embed', 'tiny-qwen3-embed', 'tiny-bert-seqcls', 'tiny-qwen3-seqcls',
  'tiny-bert-crossenc', 'tiny-bert-tokcls', 'tiny-xlmr-seqcls', 'tiny-bert-dense-embed', 'tiny-qwen3-reranker',
];

/** describe(`${name} [backend]`, …) for every backend under test that the suite's fixture runs on. */
export function describeBackends(name: string, suite: (backend: BackendChoice) => void): void {
  const fixture = name.split(/[ :]/)[0];
  const cpuReady = !fixture.startsWith('tiny-') || CPU_FIXTURES.includes(fixture);
  for (const backend of BACKENDS) {
    if (backend === 'cpu' && !cpuReady) continue;
    describe(`${name} [${backend}]`, () => suite(backend));
  }
}
