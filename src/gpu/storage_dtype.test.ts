// WEIGHT_T binding (src/gpu/storage_dtype.ts) as the pipeline cache writes it: the module's first
// line, its own module key, and compile messages still pointing at the right file line.
import { describe, expect, it } from 'vitest';
import { fullSource, moduleKey, sourceLine, type ShaderSpec } from './pipelines';
import { dtypeBytes, withWeightType } from './storage_dtype';

const spec: ShaderSpec = { file: 'k.wgsl', source: 'fn a() {}\nfn b() {}', bindings: ['uniform'], includes: [{ file: 'inc.wgsl', source: 'fn c() {}' }], enables: ['subgroups'] };

describe('withWeightType', () => {
  it('f32 declares the alias only; f16 also enables f16, once', () => {
    expect(fullSource(withWeightType(spec, 'f32')).split('\n')[0]).toBe('enable subgroups; alias WEIGHT_T = f32;');
    const f16 = withWeightType(withWeightType(spec, 'f16'), 'f16');
    expect(fullSource(f16).split('\n')[0]).toBe('enable subgroups; enable f16; alias WEIGHT_T = f16;');
    expect(moduleKey(withWeightType(spec, 'f32'))).not.toBe(moduleKey(f16));
    expect(() => withWeightType(spec, 'bf16' as never)).toThrow(/unknown weight dtype "bf16"/);
    expect([dtypeBytes('f32'), dtypeBytes('f16')]).toEqual([4, 2]);
  });

  it('compile messages map past the first line to the source and include lines', () => {
    const s = withWeightType({ ...spec, enables: undefined }, 'f16');
    expect(sourceLine(s, 2)).toEqual({ file: 'k.wgsl', line: 1 });
    expect(sourceLine(s, 4)).toEqual({ file: 'inc.wgsl', line: 1 });
  });
});
