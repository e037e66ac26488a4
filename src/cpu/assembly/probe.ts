// probe.ts — the relaxed-SIMD feature probe: a module that only validates where relaxed SIMD is
// available (WebAssembly.validate on its few bytes, no instantiation).
export function probe(a: v128, b: v128, c: v128): v128 {
  return f32x4.relaxed_madd(a, b, c);
}
