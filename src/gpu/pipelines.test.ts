import { describe, expect, it } from 'vitest';
import { testGpu } from '../../test/helpers/gpu';
import { sizeClass } from './buffers';
import { GpuError } from './errors';
import type { ShaderSpec } from './pipelines';

const GOOD = `override WG: u32 = 8;
@group(0) @binding(0) var<uniform> p: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] = helper(f32(p.x)); }
`;

describe('pipeline cache', async () => {
  const gpu = await testGpu();
  const include = { file: 'helper.wgsl', source: 'fn helper(x: f32) -> f32 { return x * 2.0; }\n' };

  it('caches by kernel + overrides, never by anything else', async () => {
    const spec: ShaderSpec = { file: 'cache_probe.wgsl', source: GOOD, bindings: ['uniform', 'storage'], includes: [include] };
    const before = gpu.pipelines.size;
    const a = await gpu.pipelines.get(spec, { WG: 8 });
    const b = await gpu.pipelines.get(spec, { WG: 8 });
    const c = await gpu.pipelines.get(spec, { WG: 16 });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(gpu.pipelines.size).toBe(before + 2);
    expect(a.label).toBe('cache_probe[WG=8]');
  });

  it('reports WGSL errors with the shader file, line and column', async () => {
    const spec: ShaderSpec = { file: 'broken.wgsl', source: GOOD.replace('y[g.x] = helper(f32(p.x));', 'y[g.x] = undefined_fn(1.0);'), bindings: ['uniform', 'storage'], includes: [include] };
    const err = await gpu.pipelines.get(spec, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toMatch(/shaders\/broken\.wgsl:4:\d+: error: .*undefined_fn/);
  });

  it('maps an error inside an appended include back to that file', async () => {
    const bad = { file: 'bad_helper.wgsl', source: '// a comment line\nfn helper(x: f32) -> f32 { return x * nope; }\n' };
    const spec: ShaderSpec = { file: 'uses_helper.wgsl', source: GOOD, bindings: ['uniform', 'storage'], includes: [bad] };
    const err = (await gpu.pipelines.get(spec, {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/shaders\/bad_helper\.wgsl:2:\d+: error: .*nope/);
  });
});

describe('buffer pool', async () => {
  const gpu = await testGpu();

  it('size classes bound the waste and are monotonic', () => {
    let prev = 0;
    for (const n of [1, 16, 255, 256, 257, 4096, 4097, 5000, 65536, 100_000, 1_000_000]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeGreaterThanOrEqual(prev);
      if (n > 4096) expect(c / n).toBeLessThanOrEqual(1.25);
      prev = c;
    }
  });

  it('reuses a released buffer of the same class and usage', () => {
    const a = gpu.storage(10_000, 'a');
    gpu.pool.release(a);
    const b = gpu.storage(9_500, 'b');
    expect(b).toBe(a);
    expect(b.label).toBe('b');
    const c = gpu.storage(10_000, 'c');
    expect(c).not.toBe(b);
    gpu.pool.release(b);
    gpu.pool.release(c);
  });
});
