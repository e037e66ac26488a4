// matmul.ts — y[M, N] = act(x[M, K] · Wᵀ + bias[N]) + residual[M, N], the CPU twin of
// shaders/matmul_*.wgsl (same epilogue, vmath.ts), for W stored [N, K] row-major as in safetensors.
//
// Packed B: `packWeights` rewrites W once (at the first batch) into panels of 8 output columns,
// panel p = [K][8] floats, so the inner loop reads B as two contiguous v128s per k and never
// gathers. Columns past N are zero-filled.
// Register blocking: a 6×8 tile of y lives in 12 f32x4 accumulators (+ 2 B vectors + 1 broadcast
// A value = 15 of the 16 SIMD registers V8 has on x64, XNNPACK's 6x8 wasmsimd shape); leftover rows
// and a last panel narrower than 8 take a 1×8 tile. Per k: 2 B loads, 6 A load-splats, 12
// multiply-adds.
// Cache blocking: rows in chunks of MC so a chunk of x (MC·K floats) stays in L2 while every B
// panel (8·K floats, in L1) passes over it.
// Epilogue: the tiles store raw sums; a separate pass over the block (still in L1) adds bias,
// applies the activation and adds the residual (see epilogue() for why it is separate).
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

@inline function storeLanes(p: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(p, v);
    return;
  }
  if (count > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** A tile row's raw sums to y[m, n0 .. n0 + cols). */
@inline function storeRow(c0: v128, c1: v128, m: i32, n0: i32, cols: i32, N: i32, y: usize): void {
  const out = y + ((<usize>m * <usize>N + <usize>n0) << 2);
  if (cols == 8) {
    v128.store(out, c0);
    v128.store(out, c1, 16);
  } else {
    storeLanes(out, c0, cols);
    storeLanes(out + 16, c1, cols - 4);
  }
}

@inline function epilogueRows(y: usize, bias: usize, res: usize, m0: i32, m1: i32, n0: i32, cols: i32, N: i32, act: i32): void {
  for (let m = m0; m < m1; m++) {
    const row = (<usize>m * <usize>N + <usize>n0) << 2;
    for (let j = 0; j < cols; j += 4) {
      const n = n0 + j;
      let v = v128.load(y + row + (<usize>j << 2));
      if (bias) v = f32x4.add(v, v128.load(bias + (<usize>n << 2)));
      v = activate(v, act);
      if (res) v = f32x4.add(v, v128.load(res + row + (<usize>j << 2)));
      storeLanes(y + row + (<usize>j << 2), v, cols - j);
    }
  }
}

/**
 * The epilogue over y[m0 .. m1, n0 .. n0 + cols) in place: + bias, act, + residual. Separate from
 * the tiles on purpose: with the activations' code in the same function as the k loop, V8's
 * register allocator spilled the accumulators inside the loop and the GEMM ran at half speed.
 * One loop per activation, each with its code constant: with `act` a variable binaryen turned
 * activate()'s `if (act == 1) return vgelu(v)` into a br_if whose value (the whole erf) was
 * computed for every vector whatever the activation. Same operations in the same order on the
 * same f32 sums, so results do not change. Reads past cols (the last panel) stay inside the row
 * or the allocation slack; only cols lanes are written.
 */
function epilogue(y: usize, bias: usize, res: usize, m0: i32, m1: i32, n0: i32, cols: i32, N: i32, act: i32): void {
  if (act == 0) epilogueRows(y, bias, res, m0, m1, n0, cols, N, 0);
  else if (act == 1) epilogueRows(y, bias, res, m0, m1, n0, cols, N, 1);
  else if (act == 2) epilogueRows(y, bias, res, m0, m1, n0, cols, N, 2);
  else if (act == 3) epilogueRows(y, bias, res, m0, m1, n0, cols, N, 3);
  else epilogueRows(y, bias, res, m0, m1, n0, cols, N, 4);
}

/**
 * A full 6×8 tile (cols = 8): its raw sums to y[m .. m + 6, n0 .. n0 + 8). Kept lean on purpose:
 * one A pointer (rows at constant offsets), plain stores after the loop and nothing else in the
 * function, so V8 keeps the 12 accumulators in registers (with lane-masked stores or the
 * activations here, its allocator spilled 4 of them inside the k loop: half the speed). That holds
 * for the relaxed-SIMD build; plain SIMD's multiply-then-add needs a 16th register for the product,
 * so there one accumulator still goes through the stack each k (re-reading B per row to free a
 * register does not survive binaryen, which merges the identical loads).
 */
function tile6x8(x: usize, bp: usize, m: i32, n0: i32, N: i32, K: i32, y: usize): void {
  const rowBytes = <usize>K << 2;
  let a = x + <usize>m * rowBytes;
  const end = a + rowBytes;
  const r2 = rowBytes * 2;
  const r3 = rowBytes * 3;
  const r4 = rowBytes * 4;
  const r5 = rowBytes * 5;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  let b = bp;
  for (; a < end; a += 4) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a + rowBytes);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a + r2);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a + r3);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    av = v128.load32_splat(a + r4);
    c40 = madd(av, b0, c40);
    c41 = madd(av, b1, c41);
    av = v128.load32_splat(a + r5);
    c50 = madd(av, b0, c50);
    c51 = madd(av, b1, c51);
    b += 32;
  }
  const rowOut = <usize>N << 2;
  let o = y + ((<usize>m * <usize>N + <usize>n0) << 2);
  v128.store(o, c00);
  v128.store(o, c01, 16);
  o += rowOut;
  v128.store(o, c10);
  v128.store(o, c11, 16);
  o += rowOut;
  v128.store(o, c20);
  v128.store(o, c21, 16);
  o += rowOut;
  v128.store(o, c30);
  v128.store(o, c31, 16);
  o += rowOut;
  v128.store(o, c40);
  v128.store(o, c41, 16);
  o += rowOut;
  v128.store(o, c50);
  v128.store(o, c51, 16);
}

function tile1x8(x: usize, bp: usize, m: i32, n0: i32, cols: i32, N: i32, K: i32, y: usize): void {
  // The same k order and accumulators as tile6x8, so a row's result does not depend on which tile
  // it fell into: batch invariance holds bit for bit. It also takes the last panel when N is not
  // a multiple of 8 (cols < 8), which the lean 6×8 tile does not handle.
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
  storeRow(c0, c1, m, n0, cols, N, y);
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
      if (cols == 8) {
        // Two call sites on purpose: binaryen inlines a function with a single caller (up to 200
        // size units at AssemblyScript's -O3), and inlined into this loop nest the tile's
        // accumulators spill again.
        for (; m + 12 <= mEnd; m += 12) {
          tile6x8(x, bp, m, n0, N, K, y);
          tile6x8(x, bp, m + 6, n0, N, K, y);
        }
        if (m + 6 <= mEnd) {
          tile6x8(x, bp, m, n0, N, K, y);
          m += 6;
        }
      }
      for (; m < mEnd; m++) tile1x8(x, bp, m, n0, cols, N, K, y);
      if (bias || res || act) epilogue(y, bias, res, mc, mEnd, n0, cols, N, act);
    }
  }
}
