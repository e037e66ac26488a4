// Backend choice: 'cpu' and 'webgpu' as asked, 'auto' by the adapter rule (on this machine the only
// WebGPU adapter is SwiftShader, a software one, so auto picks the CPU and says why).
import { describe, expect, it } from 'vitest';
import { openBackend } from './backend';
import { CpuContext } from './cpu/context';
import { createEngine } from './engine';
import { fixtureDir } from '../test/helpers/fixtures';

describe('openBackend', () => {
  it("'cpu' opens the WebAssembly context without touching WebGPU", async () => {
    const { gpu, info } = await openBackend({ backend: 'cpu', cpuThreads: 1 });
    expect(gpu).toBeInstanceOf(CpuContext);
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', reason: 'requested', threads: 1 });
    expect(['simd128', 'relaxed-simd']).toContain(info.simd);
    gpu.destroy();
  });

  it("'cpu' with a forced plain-SIMD build", async () => {
    const { gpu, info } = await openBackend({ backend: 'cpu', cpuSimd: 'simd128' });
    expect(info.simd).toBe('simd128');
    gpu.destroy();
  });

  it("'auto' takes the CPU on a software adapter, or on no WebGPU at all, and says which", async () => {
    const { gpu, info } = await openBackend({ backend: 'auto' });
    try {
      if (info.name === 'webgpu') {
        expect(gpu.adapter.isSoftware).toBe(false);
        expect(info.reason).toMatch(/^hardware adapter/);
      } else {
        expect(info.reason).toMatch(/^(software adapter|no WebGPU)/);
      }
      expect(info.decideMs).toBeGreaterThanOrEqual(0);
    } finally {
      gpu.destroy();
    }
  });

  it("'webgpu' stays the default, and an unknown backend is a clear error", async () => {
    await expect(openBackend({ backend: 'wasm' as never })).rejects.toThrow("backend must be 'auto', 'webgpu' or 'cpu', got \"wasm\"");
  });

  it('the default thread count is the cores, at most 4 (Node has shared memory)', async () => {
    const { gpu, info } = await openBackend({ backend: 'cpu' });
    const { availableParallelism } = await import('node:os');
    expect(info.threads).toBe(Math.min(4, availableParallelism()));
    gpu.destroy();
  });

  it('engine.info reports the backend, its threads and SIMD level', async () => {
    const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend: 'cpu', threads: 2 });
    try {
      expect(engine.info.backend).toMatchObject({ name: 'cpu', threads: 2 });
      expect(['simd128', 'relaxed-simd']).toContain(engine.info.backend.simd);
      expect(engine.info.adapter.description).toMatch(/^WebAssembly (simd128|relaxed-simd), 2 threads$/);
      expect((await engine.embed('hello')).embeddings[0].length).toBe(engine.info.embeddingSize);
    } finally {
      await engine.dispose();
    }
  });
});
