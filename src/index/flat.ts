// The plain JavaScript flat scan that client-side vector stores do today: a dot product per row
// over Float32Arrays, keeping the best k in a small sorted array. It is the benchmark's baseline
// and the index's CPU reference (same order: score descending, then row ascending).

export interface FlatHit {
  row: number;
  score: number;
}

/** Top k rows of `rows` ([n, dims] unit vectors) by dot product with `query`. */
export function flatSearch(rows: Float32Array, dims: number, query: ArrayLike<number>, k: number): FlatHit[] {
  const n = Math.floor(rows.length / dims);
  const best: FlatHit[] = [];
  for (let r = 0; r < n; r++) {
    let s = 0;
    const o = r * dims;
    for (let d = 0; d < dims; d++) s += query[d] * rows[o + d];
    if (best.length === k && s <= best[k - 1].score) continue;
    // Insert keeping descending score; an equal score keeps the earlier (lower) row first.
    let i = best.length;
    while (i > 0 && best[i - 1].score < s) i--;
    best.splice(i, 0, { row: r, score: s });
    if (best.length > k) best.pop();
  }
  return best;
}
