// Search workload: top-10 latency of the GPU vector index (float, and binary with exact
// rescoring) against the plain JavaScript flat scan client-side stores do, over the same
// Float32Array of unit vectors, in the same page (or Node process) and run. No model is involved:
// latency depends on rows × dimensions, so the corpus is seeded random unit vectors (binary recall
// on such isotropic data is the worst case; see the README for fixture-embedding recall).
//
// Timed: index.search(vector, {k}) end to end (query write, one submit, readback of k results) and
// flatSearch(rows, dims, query, k); median of `runs` distinct queries after one warm-up each.

import type { Gpu } from '../../src/gpu/context';
import { flatSearch } from '../../src/index/flat';
import { VectorIndex } from '../../src/index/vector_index';

export interface SearchBenchOptions {
  sizes: number[];
  dims: number;
  k: number;
  runs: number;
  /** Binary mode candidates rescored exactly (default 4k clamped as the index does). */
  candidates?: number;
  log?: (line: string) => void;
}

export interface SearchBenchRow {
  rows: number;
  dims: number;
  k: number;
  /** Median ms. */
  gpu_float_ms: number;
  gpu_binary_ms: number;
  js_flat_ms: number;
  /** js_flat_ms / gpu_*_ms. */
  speedup_float: number;
  speedup_binary: number;
  /** GPU float results equal the JS scan's (ids, in order). */
  float_matches_js: boolean;
  /** Recall@k of binary mode against exact search on these queries. */
  binary_recall: number;
  add_ms: number;
}

export interface SearchBenchResult {
  schema: 'wgpool-search-bench/1';
  adapter: string;
  runs: number;
  rows: SearchBenchRow[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unitRows(n: number, dims: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let d = 0; d < dims; d++) {
      const v = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      x[i * dims + d] = v;
      q += v * v;
    }
    const s = 1 / Math.sqrt(q);
    for (let d = 0; d < dims; d++) x[i * dims + d] *= s;
  }
  return x;
}

const now = () => performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runSearchBench(gpu: Gpu, opts: SearchBenchOptions): Promise<SearchBenchResult> {
  const log = opts.log ?? (() => {});
  const { dims: D, k, runs } = opts;
  const rows: SearchBenchRow[] = [];
  for (const N of opts.sizes) {
    log(`search: ${N} × ${D} random unit vectors`);
    const corpus = unitRows(N, D, N);
    const queries = unitRows(runs + 1, D, N + 1);
    const q = (i: number) => queries.subarray(i * D, (i + 1) * D);
    const index = await VectorIndex.create({ gpu, dimensions: D, capacity: N });
    const t0 = now();
    const entries = Array.from({ length: N }, (_, i) => ({ id: String(i), vector: corpus.subarray(i * D, (i + 1) * D) }));
    await index.addVectors(entries);
    await gpu.device.queue.onSubmittedWorkDone();
    const addMs = now() - t0;
    const times = { float: [] as number[], binary: [] as number[], js: [] as number[] };
    let matches = true;
    let hit = 0;
    for (let i = 0; i <= runs; i++) {
      let t = now();
      const f = await index.search(q(i), { k });
      const tf = now() - t;
      t = now();
      const b = await index.search(q(i), { k, mode: 'binary', candidates: opts.candidates });
      const tb = now() - t;
      t = now();
      const js = flatSearch(corpus, D, q(i), k);
      const tj = now() - t;
      if (i === 0) continue; // warm-up: pipelines, plans, bit packing
      times.float.push(tf);
      times.binary.push(tb);
      times.js.push(tj);
      matches &&= f.map((h) => h.id).join() === js.map((h) => String(h.row)).join();
      const exact = new Set(f.map((h) => h.id));
      hit += b.filter((h) => exact.has(h.id)).length;
    }
    await index.dispose();
    const row: SearchBenchRow = {
      rows: N,
      dims: D,
      k,
      gpu_float_ms: median(times.float),
      gpu_binary_ms: median(times.binary),
      js_flat_ms: median(times.js),
      speedup_float: median(times.js) / median(times.float),
      speedup_binary: median(times.js) / median(times.binary),
      float_matches_js: matches,
      binary_recall: hit / (runs * k),
      add_ms: addMs,
    };
    log(`search: ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return { schema: 'wgpool-search-bench/1', adapter: [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' ') + (gpu.adapter.isSoftware ? ' (software)' : ''), runs, rows };
}
