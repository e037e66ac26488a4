import { describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/context';
import { fullSource, moduleKey } from '../gpu/pipelines';
import { L2_NORMALIZE, L2NormalizeKernel } from './l2_normalize';
import { pickReduction, reductionsOf, withReduction } from './reduction';
import { testGpu } from '../../test/helpers/gpu';

describe('reduction variants', async () => {
  const gpu = await testGpu();

  it('subgroups are requested and picked where the adapter has them', () => {
    expect(gpu.hasSubgroups).toBe(gpu.adapter.features.includes('subgroups'));
    expect(pickReduction(gpu)).toBe(gpu.hasSubgroups ? 'subgroup' : 'workgroup');
  });

  it('the subgroup variant is its own shader module, starting with `enable subgroups;`', () => {
    const fake = { hasSubgroups: true, adapter: gpu.adapter } as Gpu;
    const sg = withReduction(L2_NORMALIZE, 'subgroup', fake);
    const wg = withReduction(L2_NORMALIZE, 'workgroup', fake);
    expect(fullSource(sg).split('\n')[0]).toBe('enable subgroups;');
    expect(fullSource(sg)).toContain('subgroupAdd');
    expect(fullSource(wg)).not.toContain('enable');
    expect(moduleKey(sg)).not.toBe(moduleKey(wg));
  });

  it('a device without subgroups gets a clear error when asked for them', () => {
    const fake = { hasSubgroups: false, adapter: { ...gpu.adapter, description: 'no-subgroups adapter' } } as Gpu;
    expect(() => withReduction(L2_NORMALIZE, 'subgroup', fake)).toThrow(/needs a device with the 'subgroups' feature/);
  });

  it.skipIf(!gpu.hasSubgroups)('both variants compile to distinct pipelines on this device', async () => {
    const before = gpu.pipelines.size;
    const [a, b] = await Promise.all(
      reductionsOf(gpu).map((reduction) => L2NormalizeKernel.create(gpu, { normalize: true, workgroupSize: 16, reduction })),
    );
    expect([a.reduction, b.reduction]).toEqual(['workgroup', 'subgroup']);
    expect(gpu.pipelines.size).toBe(before + 2);
  });
});
