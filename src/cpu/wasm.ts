// Loading the CPU backend's WebAssembly (built by scripts/build-wasm.mjs from src/cpu/assembly/)
// and choosing its SIMD level. The bytes come from src/cpu/generated/kernels.ts inside the package:
// no fetch, no CDN; compiling WebAssembly needs CSP 'wasm-unsafe-eval' (not 'unsafe-eval').

import { GpuError } from '../gpu/errors';
import { RELAXED_PROBE_WASM, RELAXED_SHARED_WASM, RELAXED_WASM, SIMD_SHARED_WASM, SIMD_WASM } from './generated/kernels';

/** 'relaxed-simd': 128-bit SIMD plus relaxed fused multiply-add; 'simd128': 128-bit SIMD only. */
export type SimdLevel = 'relaxed-simd' | 'simd128';

/** The kernels' exports: pointers are byte offsets into the memory, sizes are element counts. */
export interface KernelExports {
  heapBase(): number;
  packWeights(w: number, packed: number, N: number, K: number): void;
  matmul(x: number, packed: number, bias: number, res: number, y: number, M: number, N: number, K: number, act: number, m0: number, m1: number, p0: number, p1: number): void;
  layerNorm(x: number, res: number, gamma: number, beta: number, y: number, n: number, eps: number, r0: number, r1: number): void;
  rmsNorm(x: number, res: number, w: number, y: number, n: number, eps: number, unitOffset: number, r0: number, r1: number): void;
  l2Normalize(x: number, out: number, rows: number, rowOffset: number, dims: number, inStride: number, outStride: number, normalize: number): void;
  softmax(x: number, out: number, rows: number, rowOffset: number, n: number): void;
  sigmoid(x: number, out: number, count: number, offset: number): void;
  attention(
    q: number, k: number, v: number, cuSeqLens: number, out: number, scratch: number, relBias: number,
    batch: number, numHeads: number, numKvHeads: number,
    qStride: number, kStride: number, vStride: number, qOffset: number, kOffset: number, vOffset: number,
    headDim: number, scale: number, causal: number, window: number, h0: number, h1: number,
  ): void;
  rope(x: number, positions: number, normW: number, invFreq: number, cs: number, numHeads: number, stride: number, offset: number, headDim: number, eps: number, unitOffset: number, t0: number, t1: number): void;
  embedding(
    ids: number, positions: number, types: number, word: number, position: number, tokenType: number, out: number,
    hidden: number, vocab: number, maxPositions: number, typeVocab: number, t0: number, t1: number,
  ): void;
  pool(hidden: number, cuSeqLens: number, modes: number, out: number, batch: number, H: number): void;
  glu(gateUp: number, out: number, inter: number, act: number, second: number, t0: number, t1: number): void;
  quantizeBits(x: number, out: number, rows: number, dims: number, inStride: number): void;
  dotScores(queries: number, corpus: number, rows: number, scores: number, count: number, dims: number, gather: number, rowLimit: number, q0: number, q1: number): void;
  hammingScores(queryBits: number, corpusBits: number, scores: number, count: number, rowBytes: number, q0: number, q1: number): void;
  topK(scores: number, ids: number, outScores: number, outIds: number, count: number, k: number, hasIndex: number, q0: number, q1: number): void;
}

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

let detected: SimdLevel | null | undefined;

/**
 * The best SIMD level this engine validates: the relaxed probe (48 bytes) first, then the plain
 * module itself. null without WebAssembly SIMD (Safari < 16.4, very old engines).
 */
export function detectSimd(): SimdLevel | null {
  if (detected !== undefined) return detected;
  if (typeof WebAssembly === 'undefined') return (detected = null);
  detected = WebAssembly.validate(decode(RELAXED_PROBE_WASM)) ? 'relaxed-simd' : WebAssembly.validate(decode(SIMD_WASM)) ? 'simd128' : null;
  return detected;
}

const modules = new Map<string, Promise<WebAssembly.Module>>();

/** The compiled kernels at `level`, over a plain or a shared memory (compiled once each, async: no main-thread stall). */
export async function kernelModule(level: SimdLevel, shared: boolean): Promise<WebAssembly.Module> {
  const best = detectSimd();
  if (!best) throw new GpuError('The CPU backend needs WebAssembly SIMD (128-bit), which this JavaScript engine does not validate.');
  if (level === 'relaxed-simd' && best !== 'relaxed-simd') throw new GpuError('This JavaScript engine has no relaxed SIMD; use simd: "simd128".');
  const key = `${level}${shared ? '+shared' : ''}`;
  let mod = modules.get(key);
  if (!mod) {
    const b64 = level === 'relaxed-simd' ? (shared ? RELAXED_SHARED_WASM : RELAXED_WASM) : shared ? SIMD_SHARED_WASM : SIMD_WASM;
    mod = WebAssembly.compile(decode(b64));
    modules.set(key, mod);
  }
  return mod;
}

/** Instantiate the kernels at `level` over `memory` (a shared memory takes the shared build). */
export async function instantiateKernels(level: SimdLevel, memory: WebAssembly.Memory, shared = false): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(await kernelModule(level, shared), { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
