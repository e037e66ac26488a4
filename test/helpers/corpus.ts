// Corpora for the vector index tests: seeded sentences (for the tiny fixture embedders), random unit
// vectors, and clustered unit vectors (neighbourhoods like real embeddings have).
import { rng } from './random';

const WORDS = (
  'river mountain city music water light house game team life field market history science church film ' +
  'station book album season county north south east west school system people family power model data ' +
  'search query answer question language network design value order record study service center place ' +
  'group period garden ocean winter summer bridge engine doctor teacher camera letter island forest'
).split(' ');

/** n short sentences of 3–9 seeded words. */
export function sentences(n: number, seed = 1): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 3 + Math.floor(r() * 7);
    return Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ') + (i % 3 === 0 ? '.' : '');
  });
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function normalizeRows(x: Float32Array, dims: number): Float32Array {
  for (let o = 0; o < x.length; o += dims) {
    let q = 0;
    for (let d = 0; d < dims; d++) q += x[o + d] ** 2;
    const s = 1 / Math.sqrt(q);
    for (let d = 0; d < dims; d++) x[o + d] *= s;
  }
  return x;
}

/** n random unit vectors (isotropic Gaussian directions). */
export function randomUnitVectors(n: number, dims: number, seed = 7): Float32Array {
  const r = rng(seed);
  return normalizeRows(Float32Array.from({ length: n * dims }, () => gauss(r)), dims);
}

/** n unit vectors around `clusters` random centres (noise `spread` relative to the centre). */
export function clusteredUnitVectors(n: number, dims: number, clusters: number, spread: number, seed = 11): Float32Array {
  const r = rng(seed);
  const centres = randomUnitVectors(clusters, dims, seed + 1);
  const noise = spread / Math.sqrt(dims);
  const x = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * clusters);
    for (let d = 0; d < dims; d++) x[i * dims + d] = centres[c * dims + d] + noise * gauss(r);
  }
  return normalizeRows(x, dims);
}

export function rows(x: Float32Array, dims: number): Float32Array[] {
  return Array.from({ length: x.length / dims }, (_, i) => x.subarray(i * dims, (i + 1) * dims));
}
