// attention.ts — packed, segment-aware scaled-dot-product attention, the CPU twin of
// shaders/attention.wgsl: for every sequence b (tokens [cuSeqLens[b], cuSeqLens[b+1]) of a batch
// packed without padding), head h and query i,
//   out[i, h·hd .. (h+1)·hd) = softmax_j(q_i · k_j · scale) · v_j,  j in the segment (causal: j ≤ i)
// with grouped-query attention: head h reads kv head h / (numHeads / numKvHeads). q, k and v are
// read at row strides and column offsets (in floats), so they may be one fused QKV matrix.
//
// Schedule: per (query, head) the scores of its keys go to a scratch row (≤ the longest segment),
// then expShifted (max-subtracted softmax) and a weighted sum of V rows into the output row. Dot
// products and the V accumulation are f32x4 over head_dim with a scalar tail (any head_dim).
// Sliding window W > 0 (shaders/attention.wgsl's key_range): keys with |i − j| < W only —
// bidirectional, W − 1 either side plus i; causal, the last W keys including i.
// relBias ≠ 0: MPNet's relative position bias relBias[bucket(i − j), h] (table [32, numHeads]) is
// added to each scaled score; the bucket rule is the WGSL kernel's position_bias, term for term.
// Threads: a call covers heads [h0, h1) of every sequence; each needs its own scratch row.

import { expShifted } from './rows';
import { hsum, madd } from './vmath';

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) acc = madd(v128.load(at(a, d)), v128.load(at(b, d)), acc);
  let s = hsum(acc);
  for (; d < n; d++) s += load<f32>(at(a, d)) * load<f32>(at(b, d));
  return s;
}

@inline function positionBias(relBias: usize, i: i32, j: i32, h: i32, numHeads: i32): f32 {
  const after = j > i;
  const a = <u32>(after ? j - i : i - j);
  let bucket = a;
  if (a >= 128) bucket = 15;
  else if (a >= 8) bucket = min<u32>(15, 8 + (32 - <u32>clz(a * a)) - 7);
  return load<f32>(at(relBias, (<i32>(after ? 16 : 0) + <i32>bucket) * numHeads + h));
}

export function attention(
  q: usize, k: usize, v: usize, cuSeqLens: usize, out: usize, scratch: usize, relBias: usize,
  batch: i32, numHeads: i32, numKvHeads: i32,
  qStride: i32, kStride: i32, vStride: i32, qOffset: i32, kOffset: i32, vOffset: i32,
  hd: i32, scale: f32, causal: i32, window: i32, h0: i32, h1: i32,
): void {
  const group = numHeads / numKvHeads;
  const outStride = numHeads * hd;
  for (let b = 0; b < batch; b++) {
    const s = load<u32>(at(cuSeqLens, b));
    const e = load<u32>(at(cuSeqLens, b + 1));
    for (let h = h0; h < h1; h++) {
      const g = h / group;
      for (let i = <i32>s; i < <i32>e; i++) {
        const qi = q + ((<usize>i * <usize>qStride + <usize>(qOffset + h * hd)) << 2);
        let lo = <i32>s;
        let hi = causal ? i + 1 : <i32>e;
        if (window > 0) {
          lo = max(lo, i + 1 - window);
          hi = min(hi, i + window);
        }
        const n = hi - lo;
        for (let j = 0; j < n; j++) {
          const kj = k + ((<usize>(lo + j) * <usize>kStride + <usize>(kOffset + g * hd)) << 2);
          let sc = dot(qi, kj, hd) * scale;
          if (relBias) sc += positionBias(relBias, i, lo + j, h, numHeads);
          store<f32>(at(scratch, j), sc);
        }
        expShifted(scratch, scratch, n);
        const o = out + ((<usize>i * <usize>outStride + <usize>(h * hd)) << 2);
        let d = 0;
        for (; d + 4 <= hd; d += 4) v128.store(at(o, d), f32x4.splat(0));
        for (; d < hd; d++) store<f32>(at(o, d), 0);
        for (let j = 0; j < n; j++) {
          const vj = v + ((<usize>(lo + j) * <usize>vStride + <usize>(vOffset + g * hd)) << 2);
          const pj = load<f32>(at(scratch, j));
          const p = f32x4.splat(pj);
          d = 0;
          for (; d + 4 <= hd; d += 4) v128.store(at(o, d), madd(p, v128.load(at(vj, d)), v128.load(at(o, d))));
          for (; d < hd; d++) store<f32>(at(o, d), load<f32>(at(o, d)) + pj * load<f32>(at(vj, d)));
        }
      }
    }
  }
}
