// CPU references for the vector index's kernels (dot_scores, hamming_scores, top_k), shared by the
// WebGPU kernel tests (src/kernels/) and the CPU backend's (src/cpu/search_kernels.test.ts).
import { NO_ID } from '../../src/kernels/top_k';

/** Float64 dot products of query qi with each row of rows[qi]; a row past the corpus is padding (−3.4e38). */
export function dotRef(q: Float32Array, c: Float32Array, Q: number, D: number, rows: number[][]): Float64Array {
  const out = new Float64Array(Q * rows[0].length);
  rows.forEach((list, qi) =>
    list.forEach((row, i) => {
      let s = 0;
      if (row * D >= c.length) s = -3.4e38;
      else for (let d = 0; d < D; d++) s += q[qi * D + d] * c[row * D + d];
      out[qi * list.length + i] = s;
    }),
  );
  return out;
}

/** Reference: count of columns whose signs (x > 0) differ, negated. */
export function hammingRef(q: Float32Array, c: Float32Array, Q: number, N: number, D: number): Float32Array {
  const out = new Float32Array(Q * N);
  for (let a = 0; a < Q; a++)
    for (let i = 0; i < N; i++) {
      let diff = 0;
      for (let d = 0; d < D; d++) if (q[a * D + d] > 0 !== c[i * D + d] > 0) diff++;
      out[a * N + i] = -diff;
    }
  return out;
}

/** Reference: stable sort by descending score, ties by ascending id, padded to k. */
export function topKRef(scores: Float32Array, ids: Uint32Array | null, Q: number, count: number, k: number) {
  const outS: number[] = [];
  const outI: number[] = [];
  for (let q = 0; q < Q; q++) {
    const c = Array.from({ length: count }, (_, j) => ({ s: scores[q * count + j], i: ids ? ids[q * count + j] : j })).filter((x) => x.i !== NO_ID);
    c.sort((a, b) => b.s - a.s || a.i - b.i);
    for (let r = 0; r < k; r++) {
      outS.push(r < c.length ? c[r].s : -3.4e38);
      outI.push(r < c.length ? c[r].i : NO_ID);
    }
  }
  return { scores: Float32Array.from(outS), ids: Uint32Array.from(outI) };
}
