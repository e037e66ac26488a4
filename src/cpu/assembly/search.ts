// search.ts — the vector index's kernels: the dot-score scan over float rows (dense, or gathering
// candidate rows for the exact rescoring), the Hamming scan over packed sign bits, and top-k
// selection. CPU twins of shaders/dot_scores.wgsl, hamming_scores.wgsl and top_k.wgsl with the same
// layouts, padding values and tie rule.
//
// The dot product keeps the WGSL kernel's four partial sums (lane i of one f32x4 is its s_i, the
// D % 4 tail goes into lane 0, the lanes meet as (s0 + s1) + (s2 + s3)), with a separate multiply
// and add (no fused multiply-add even in the relaxed build), so both backends agree bit for bit on
// a platform whose GPU does not fuse either.
//
// Top-k is one pass per query (the GPU's passes only exist to spread a long list over workgroups):
// the best k so far sit sorted in the output row and a candidate that ranks before the last one is
// inserted by shifting. The order is top_k.wgsl's: higher score first, equal scores by lower id,
// padding ids (0xffffffff) never selected, a short list padded with (−3.4e38, 0xffffffff).

const NONE: u32 = 0xffffffff;
const NEG_BIG: f32 = -3.4e38;

@inline function at(p: usize, i: u32): usize {
  return p + (<usize>i << 2);
}

@inline function dot(a: usize, b: usize, D: u32): f32 {
  let acc = f32x4.splat(0);
  let d: u32 = 0;
  for (; d + 4 <= D; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(a, d)), v128.load(at(b, d))));
  let s0 = f32x4.extract_lane(acc, 0);
  for (; d < D; d++) s0 += load<f32>(at(a, d)) * load<f32>(at(b, d));
  return (s0 + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/**
 * scores[q, i] = queries[q] · corpus[row] for i < count, row = i (dense) or rows[q, i] (gather,
 * where a row ≥ rowLimit is padding and scores −3.4e38). Queries [q0, q1).
 */
export function dotScores(queries: usize, corpus: usize, rows: usize, scores: usize, count: u32, D: u32, gather: u32, rowLimit: u32, q0: u32, q1: u32): void {
  for (let q = q0; q < q1; q++) {
    const a = queries + ((<usize>q * <usize>D) << 2);
    const out = scores + ((<usize>q * <usize>count) << 2);
    for (let i: u32 = 0; i < count; i++) {
      let row = i;
      if (gather) {
        row = load<u32>(rows + ((<usize>q * <usize>count + <usize>i) << 2));
        if (row >= rowLimit) {
          store<f32>(at(out, i), NEG_BIG);
          continue;
        }
      }
      store<f32>(at(out, i), dot(a, corpus + ((<usize>row * <usize>D) << 2), D));
    }
  }
}

/**
 * scores[q, i] = −popcount(queryBits[q] ⊕ corpusBits[i]) over rows of rowBytes packed bytes
 * (row r at bytes [r·rowBytes, (r+1)·rowBytes), as quantizeBits writes them). 64-bit words while
 * 8 bytes remain, then bytes; the padding bits are zero in both, so they never count.
 */
export function hammingScores(queryBits: usize, corpusBits: usize, scores: usize, count: u32, rowBytes: u32, q0: u32, q1: u32): void {
  for (let q = q0; q < q1; q++) {
    const a = queryBits + <usize>q * <usize>rowBytes;
    const out = scores + ((<usize>q * <usize>count) << 2);
    for (let i: u32 = 0; i < count; i++) {
      const b = corpusBits + <usize>i * <usize>rowBytes;
      let diff: u64 = 0;
      let k: u32 = 0;
      for (; k + 8 <= rowBytes; k += 8) diff += popcnt<u64>(load<u64>(a + k) ^ load<u64>(b + k));
      for (; k < rowBytes; k++) diff += <u64>popcnt<u32>(<u32>(load<u8>(a + k) ^ load<u8>(b + k)));
      store<f32>(at(out, i), -<f32>diff);
    }
  }
}

// (sa, ia) ranks before (sb, ib): a real candidate, and either b is none, a scores higher, or they
// tie and a has the lower id.
@inline function before(sa: f32, ia: u32, sb: f32, ib: u32): bool {
  return ia != NONE && (ib == NONE || sa > sb || (sa == sb && ia < ib));
}

/**
 * outScores/outIds[q, 0..k) = the best k of scores[q, 0..count), best first; the id of candidate j
 * is j (hasIndex 0) or ids[q, j] (hasIndex 1). Queries [q0, q1). Scores must not be NaN.
 */
export function topK(scores: usize, ids: usize, outScores: usize, outIds: usize, count: u32, k: u32, hasIndex: u32, q0: u32, q1: u32): void {
  for (let q = q0; q < q1; q++) {
    const s = scores + ((<usize>q * <usize>count) << 2);
    const id = ids + ((<usize>q * <usize>count) << 2);
    const os = outScores + ((<usize>q * <usize>k) << 2);
    const oi = outIds + ((<usize>q * <usize>k) << 2);
    for (let j: u32 = 0; j < k; j++) {
      store<f32>(at(os, j), NEG_BIG);
      store<u32>(at(oi, j), NONE);
    }
    let lastS = NEG_BIG;
    let lastI = NONE;
    for (let j: u32 = 0; j < count; j++) {
      const v = load<f32>(at(s, j));
      const c = hasIndex ? load<u32>(at(id, j)) : j;
      if (!before(v, c, lastS, lastI)) continue;
      let p = k - 1;
      while (p > 0 && before(v, c, load<f32>(at(os, p - 1)), load<u32>(at(oi, p - 1)))) {
        store<f32>(at(os, p), load<f32>(at(os, p - 1)));
        store<u32>(at(oi, p), load<u32>(at(oi, p - 1)));
        p--;
      }
      store<f32>(at(os, p), v);
      store<u32>(at(oi, p), c);
      lastS = load<f32>(at(os, k - 1));
      lastI = load<u32>(at(oi, k - 1));
    }
  }
}
