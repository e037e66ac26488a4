// Host-side finishing for score/rerank and embedding encodings. The vectors arrive already pooled
// and normalized from the GPU; these are B-sized reductions.

import { BadRequestError } from '../gpu/errors';

/**
 * vLLM's pairing for score: 1→N (one left text against every right text), N→N zipped, or — our
 * extension — the full N×M matrix (row-major). Returns [leftIndex, rightIndex] pairs.
 */
export function pairUp(n: number, m: number, matrix: boolean): [number, number][] {
  if (matrix) {
    const out: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out.push([i, j]);
    return out;
  }
  if (n === 1) return Array.from({ length: m }, (_, j) => [0, j] as [number, number]);
  if (n === m) return Array.from({ length: n }, (_, i) => [i, i] as [number, number]);
  throw new BadRequestError(`Input lengths must be either 1:1, 1:N or N:N, got ${n}:${m}. Pass matrix: true to score every pair.`);
}

/** Cosine similarity in float64 (inputs need not be normalized). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-12);
}

/** ColBERT late interaction: Σ over query tokens of the best dot product with any document token. */
export function maxSim(query: readonly Float32Array[], doc: readonly Float32Array[]): number {
  let total = 0;
  for (const q of query) {
    let best = -Infinity;
    for (const d of doc) {
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += q[i] * d[i];
      if (dot > best) best = dot;
    }
    total += best;
  }
  return total;
}

/** OpenAI/vLLM `encoding_format: "base64"`: the float32 little-endian bytes, base64-encoded. */
export function toBase64(v: Float32Array): string {
  const bytes = new Uint8Array(v.length * 4);
  const view = new DataView(bytes.buffer);
  v.forEach((x, i) => view.setFloat32(i * 4, x, true));
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
