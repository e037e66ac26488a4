// Backend choice: 'cpu' and 'webgpu' as asked, 'auto' by the adapter rule (on this machine the only
// WebGPU adapter is SwiftShader, a software one, so auto picks the CPU and says why).
import { describe, expect, it } from 'vitest';
import { openBackend } from './backend';
import { CpuContext } from './cpu/context';
import { createEngine } from './engine';
import { fixtureDir } from '../test/helpers/fixtures';

describe('openBackend', () => {
  it("'cpu' opens the WebAssembly context without touching WebGPU", async () => {
    const { gpu, info } = await openBackend({ backend: 'cpu' });
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

  it('engine.info reports the backend', async () => {
    const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), backend: 'cpu' });
    try {
      expect(engine.info.backend.name).toBe('cpu');
      expect(engine.info.adapter.description).toMatch(/^WebAssembly (simd128|relaxed-simd), 1 thread$/);
      expect((await engine.embed('hello')).embeddings[0].length).toBe(engine.info.embeddingSize);
    } finally {
      await engine.dispose();
    }
  });
});
