// The dtype weights are stored in on the GPU, and how a kernel that reads weights gets its variant.
//
// A weight-reading shader (matmul_*.wgsl, embedding.wgsl) declares its weight bindings as
// `array<WEIGHT_T>` and widens every read with `f32(...)`, without declaring WEIGHT_T itself; the
// wrapper builds the module with `alias WEIGHT_T = f32;` or, for f16 storage, `enable f16;
// alias WEIGHT_T = f16;` (src/gpu/pipelines.ts writes both on the module's first line). One source
// per kernel, one pipeline per dtype. Accumulation, activations and outputs stay f32 either way.

import { GpuError } from './errors';
import type { ShaderSpec } from './pipelines';

export type StorageDtype = 'f32' | 'f16';

export const STORAGE_DTYPES: readonly StorageDtype[] = ['f32', 'f16'];

/** Bytes per stored element. */
export function dtypeBytes(dtype: StorageDtype): number {
  return dtype === 'f16' ? 2 : 4;
}

/** `spec` with WEIGHT_T bound to `dtype` (and `enable f16;` for f16). */
export function withWeightType(spec: ShaderSpec, dtype: StorageDtype): ShaderSpec {
  if (dtype !== 'f32' && dtype !== 'f16') {
    throw new GpuError(`${spec.file}: unknown weight dtype ${JSON.stringify(dtype)} (expected ${STORAGE_DTYPES.join(', ')})`);
  }
  const enables = dtype === 'f16' ? [...(spec.enables ?? []).filter((e) => e !== 'f16'), 'f16'] : spec.enables;
  return { ...spec, enables, aliases: { ...spec.aliases, WEIGHT_T: dtype } };
}
