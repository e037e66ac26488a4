// The CPU backend's GEMM rows for the matmul benchmark: src/cpu's WebAssembly matmul (6×8 register
// tiles over packed B) on the same encoder shapes as the WebGPU variants, per SIMD build, in Node.
//   node bench/build.mjs bench/matmul/wasm.ts && node --experimental-wasm-relaxed-simd .bench/matmul/wasm.mjs [--quick]
// Threads: 1 and 2 (worker_threads over the shared memory; rows split by 6-row tiles).
// Each case is checked against float64 on 64 sampled outputs, like the WebGPU rows.

import { CpuContext } from '../../src/cpu/context';
import { detectSimd, type SimdLevel } from '../../src/cpu/wasm';
import { MatmulKernel } from '../../src/kernels/matmul';

const quick = process.argv.includes('--quick');
const shapes: [number, number, number][] = [];
for (const T of quick ? [64, 664] : [64, 664, 2048]) for (const N of [384, 1536]) shapes.push([T, N, 384]);
const levels: SimdLevel[] = detectSimd() === 'relaxed-simd' ? ['simd128', 'relaxed-simd'] : ['simd128'];

function rand(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a ^ (a >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    out[i] = (a / 2 ** 32) * 2 - 1;
  }
  return out;
}

const rows: string[] = [`WASM GEMM (Node ${process.version}): ms and GFLOP/s, median of 5`, 'simd         thr     T     N     K        ms   GFLOP/s   max err'];
for (const [simd, threads] of levels.flatMap((l) => [1, 2].map((t) => [l, t] as const))) {
  const ctx = await CpuContext.load({ simd, threads });
  const kernel = await MatmulKernel.create(ctx, { bias: true, activation: 'gelu' });
  for (const [M, N, K] of shapes) {
    const x = rand(M * K, 1);
    const w = rand(N * K, 2);
    const b = rand(N, 3);
    const y = ctx.storage(M * N * 4, 'y');
    const step = kernel.bind({ x: ctx.upload(x, 'x'), w: ctx.upload(w, 'w'), bias: ctx.upload(b, 'b'), y }).update({ M, N, K });
    await ctx.run([step]); // packs W
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      await ctx.run([step]);
      times.push(performance.now() - t0);
    }
    const out = new Float32Array(await ctx.read(y, M * N * 4));
    let err = 0;
    for (let s = 0; s < 64; s++) {
      const m = (s * 7919) % M;
      const n = (s * 104729) % N;
      let acc = b[n];
      for (let k = 0; k < K; k++) acc += x[m * K + k] * w[n * K + k];
      const g = 0.5 * acc * (1 + erf(acc / Math.SQRT2));
      err = Math.max(err, Math.abs(g - out[m * N + n]));
    }
    const ms = times.sort((p, q) => p - q)[2];
    rows.push(`${simd.padEnd(12)} ${String(threads).padStart(3)} ${String(M).padStart(5)} ${String(N).padStart(5)} ${String(K).padStart(5)} ${ms.toFixed(2).padStart(9)} ${((2 * M * N * K) / ms / 1e6).toFixed(2).padStart(9)}   ${err.toExponential(1)}`);
    step.destroy();
  }
  ctx.destroy();
}
console.log(rows.join('\n'));

function erf(x: number): number {
  // float64 series / continued fraction (as src/cpu/kernels.test.ts)
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let sum = 0;
    let term = a;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= (-a * a) / (n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}
