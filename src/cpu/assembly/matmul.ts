// matmul.ts — y[M, N] = act(x[M, K] · Wᵀ + bias[N]) + residual[M, N], the CPU twin of
// shaders/matmul_*.wgsl (same epilogue, vmath.ts), for W stored [N, K] row-major as in safetensors.
//
// Packed B: `packWeights` rewrites W once (at the first batch) into panels of 8 output columns,
// panel p = [K][8] floats, so the inner loop reads B as two contiguous v128s per k and never
// gathers. Columns past N are zero-filled.
// Register blocking: a 6×8 tile of y lives in 12 f32x4 accumulators (+ 2 B vectors + 1 broadcast
// A value = 15 of the 16 SIMD registers V8 has on x64, XNNPACK's 6x8 wasmsimd shape); leftover rows
// take a 1×8 tile. Per k: 2 B loads, 6 A load-splats, 12 multiply-adds.
// Cache blocking: rows in chunks of MC so a chunk of x (MC·K floats) stays in L2 while every B
// panel (8·K floats, in L1) passes over it.
// Edges: tiles are computed whole and stored only up to N; bias/residual reads past N stay inside
//        the allocation slack the host reserves after every buffer (32 bytes), never trapping.
// Threads: a call covers rows [m0, m1) and column panels [p0, p1) (8 columns each), so workers can
// split M (batches) or N (a short query); a row's result never depends on the split.

import { activate, madd } from './vmath';

const MC: i32 = 48; // a multiple of the tile's 6 rows

export function packWeights(w: usize, packed: usize, N: i32, K: i32): void {
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const base = packed + ((<usize>p * <usize>K) << 5);
    for (let j = 0; j < 8; j++) {
      const n = (p << 3) + j;
      const dst = base + (<usize>j << 2);
      if (n < N) {
        const row = w + ((<usize>n * <usize>K) << 2);
        for (let k = 0; k < K; k++) store<f32>(dst + (<usize>k << 5), load<f32>(row + (<usize>k << 2)));
      } else {
        for (let k = 0; k < K; k++) store<f32>(dst + (<usize>k << 5), 0);
      }
    }
  }
}

@inline function epilogue(acc: v128, m: i32, n: i32, N: i32, bias: usize, res: usize, act: i32): v128 {
  let v = acc;
  if (bias) v = f32x4.add(v, v128.load(bias + (<usize>n << 2)));
  v = activate(v, act);
  if (res) v = f32x4.add(v, v128.load(res + ((<usize>m * <usize>N + <usize>n) << 2)));
  return v;
}

@inline function storeLanes(p: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(p, v);
    return;
  }
  if (count > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

@inline function finishRow(c0: v128, c1: v128, m: i32, n0: i32, cols: i32, N: i32, bias: usize, res: usize, y: usize, act: i32): void {
  const v0 = epilogue(c0, m, n0, N, bias, res, act);
  const v1 = epilogue(c1, m, n0 + 4, N, bias, res, act);
  const out = y + ((<usize>m * <usize>N + <usize>n0) << 2);
  if (cols == 8) {
    v128.store(out, v0);
    v128.store(out, v1, 16);
  } else {
    storeLanes(out, v0, cols);
    storeLanes(out + 16, v1, cols - 4);
  }
}

function tile6x8(x: usize, bp: usize, m: i32, n0: i32, cols: i32, N: i32, K: i32, bias: usize, res: usize, y: usize, act: i32): void {
  const rowBytes = <usize>K << 2;
  let a0 = x + <usize>m * rowBytes;
  let a1 = a0 + rowBytes;
  let a2 = a1 + rowBytes;
  let a3 = a2 + rowBytes;
  let a4 = a3 + rowBytes;
  let a5 = a4 + rowBytes;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  let b = bp;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a0);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a1);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a2);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a3);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    av = v128.load32_splat(a4);
    c40 = madd(av, b0, c40);
    c41 = madd(av, b1, c41);
    av = v128.load32_splat(a5);
    c50 = madd(av, b0, c50);
    c51 = madd(av, b1, c51);
    a0 += 4;
    a1 += 4;
    a2 += 4;
    a3 += 4;
    a4 += 4;
    a5 += 4;
    b += 32;
  }
  finishRow(c00, c01, m, n0, cols, N, bias, res, y, act);
  finishRow(c10, c11, m + 1, n0, cols, N, bias, res, y, act);
  finishRow(c20, c21, m + 2, n0, cols, N, bias, res, y, act);
  finishRow(c30, c31, m + 3, n0, cols, N, bias, res, y, act);
  finishRow(c40, c41, m + 4, n0, cols, N, bias, res, y, act);
  finishRow(c50, c51, m + 5, n0, cols, N, bias, res, y, act);
}

function tile1x8(x: usize, bp: usize, m: i32, n0: i32, cols: i32, N: i32, K: i32, bias: usize, res: usize, y: usize, act: i32): void {
  // The same k order and accumulators as tile6x8, so a row's result does not depend on which tile
  // it fell into: batch invariance holds bit for bit.
  let a = x + ((<usize>m * <usize>K) << 2);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let b = bp;
  for (let k = 0; k < K; k++) {
    const av = v128.load32_splat(a);
    c0 = madd(av, v128.load(b), c0);
    c1 = madd(av, v128.load(b, 16), c1);
    a += 4;
    b += 32;
  }
  finishRow(c0, c1, m, n0, cols, N, bias, res, y, act);
}

/** Rows [m0, m1) × panels [p0, p1) of y. bias / res are 0 when absent; act as vmath.activate. */
export function matmul(x: usize, packed: usize, bias: usize, res: usize, y: usize, M: i32, N: i32, K: i32, act: i32, m0: i32, m1: i32, p0: i32, p1: i32): void {
  const panels = min(p1, (N + 7) >> 3);
  const end = min(m1, M);
  for (let mc = m0; mc < end; mc += MC) {
    const mEnd = min(mc + MC, end);
    for (let p = p0; p < panels; p++) {
      const bp = packed + ((<usize>p * <usize>K) << 5);
      const n0 = p << 3;
      const cols = min(8, N - n0);
      let m = mc;
      for (; m + 6 <= mEnd; m += 6) tile6x8(x, bp, m, n0, cols, N, K, bias, res, y, act);
      for (; m < mEnd; m++) tile1x8(x, bp, m, n0, cols, N, K, bias, res, y, act);
    }
  }
}
