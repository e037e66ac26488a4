// index.ts — the entry of the CPU backend's WebAssembly module: every kernel, over one linear
// memory the host (src/cpu/memory.ts) allocates in. Built twice by scripts/build-wasm.mjs: plain
// 128-bit SIMD, and relaxed SIMD (fused multiply-add) for engines that validate it.

export { packWeights, matmul } from './matmul';
export { layerNorm, rmsNorm, l2Normalize, softmax, sigmoid } from './rows';
export { attention } from './attention';
export { rope } from './rope';
export { embedding, pool, glu, quantizeBits } from './gather';
export { dotScores, hammingScores, topK } from './search';

/** First byte the host may allocate: everything below is the module's own static data. */
export function heapBase(): usize {
  return __heap_base;
}
