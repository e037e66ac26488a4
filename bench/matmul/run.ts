// The matmul benchmark itself, shared by the Node entry (node.ts, Dawn) and the page (page.ts,
// the browser's WebGPU): encoder-shaped GEMMs y[T, N] = x[T, K] · Wᵀ through every MatmulKernel
// variant, timed without timestamp queries: encode, then submit + await onSubmittedWorkDone on the
// wall clock, median of several runs after a warm-up.
//
// Shapes: T ∈ {64, 664, 2048} tokens × K = 384 × N ∈ {384, 1536}: MiniLM-L6's attention projections
// (N = 384) and FFN up projection (N = 1536) for a small, a mixed-length and a full batch.
//
// Napkin math: 2·T·K·N flops; T = 2048, N = 1536 is 2.4 GFLOP, ~1 s at SwiftShader's ~2 GFLOP/s
// and well under a millisecond on a real GPU — so the number of timed runs adapts to each case's
// cost (at least 3 unless one run takes over 3 s, at most 7, ~1.5 s per case otherwise), and a case
// whose estimate (from the variant's rate on the previous shape) exceeds 8 s (2 s with --quick) is
// skipped and reported as such: on SwiftShader the naive baseline would take minutes on the big shapes.

import { Bound, type Gpu } from '../../src/gpu/context';
import { flops, MatmulKernel, MATMUL_VARIANTS, type MatmulShape, type MatmulVariant } from '../../src/kernels/matmul';
import type { StorageDtype } from '../../src/gpu/storage_dtype';
import { f32ToHalf, roundToHalf } from '../../src/loading/half';

export interface BenchOptions {
  /** Only T ∈ {64, 664}, one timed run each: a smoke run. */
  quick?: boolean;
  variants?: readonly MatmulVariant[];
  /** Weight storage dtypes to time (default: f32, and f16 where the device has shader-f16). */
  weightDtypes?: readonly StorageDtype[];
  /** Progress lines as each case finishes. */
  log?: (line: string) => void;
}

export interface BenchRow {
  variant: MatmulVariant;
  /** How W is stored (x and y are f32 either way). */
  weightDtype: StorageDtype;
  M: number;
  N: number;
  K: number;
  /** 0 when skipped for time; ms then holds the estimate. */
  runs: number;
  /** Median wall time of submit → onSubmittedWorkDone. */
  ms: number;
  gflops: number;
  /** Max |y − float64 reference| over sampled outputs: a broken variant must not post a fast time. */
  maxErr: number;
}

export interface BenchReport {
  adapter: string;
  isSoftware: boolean;
  source: string;
  rows: BenchRow[];
}

const K = 384;
const TOKENS = [64, 664, 2048];
const OUTS = [384, 1536];
const CASE_BUDGET_MS = 1500;
const MAX_RUNS = 7;
const SKIP_MS = 8000;
const SKIP_MS_QUICK = 2000;
const SAMPLES = 64;

export function benchShapes(quick = false): MatmulShape[] {
  const tokens = quick ? TOKENS.slice(0, 2) : TOKENS;
  return tokens.flatMap((M) => OUTS.map((N) => ({ M, N, K })));
}

/** mulberry32, so every run (Node or browser) multiplies the same numbers. */
function random(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

async function timeOnce(gpu: Gpu, bound: Bound<MatmulShape>): Promise<number> {
  const encoder = gpu.device.createCommandEncoder({ label: 'bench' });
  const pass = encoder.beginComputePass({ label: 'bench' });
  bound.encode(pass);
  pass.end();
  const commands = encoder.finish();
  const t0 = performance.now();
  gpu.device.queue.submit([commands]);
  await gpu.device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function benchMatmul(gpu: Gpu, opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const shapes = benchShapes(opts.quick);
  const rows: BenchRow[] = [];
  const maxM = Math.max(...shapes.map((s) => s.M));
  const maxN = Math.max(...shapes.map((s) => s.N));
  const x = random(maxM * K, 1);
  const w = random(maxN * K, 2);
  const xb = gpu.upload(x, 'bench.x');
  const dtypes = opts.weightDtypes ?? (gpu.hasF16 ? ['f32', 'f16'] : ['f32']);
  // f16 rows are checked against the product with the f16-rounded weights they actually multiply.
  const weights = { f32: { buf: gpu.upload(w, 'bench.w'), ref: w }, f16: dtypes.includes('f16') ? { buf: gpu.upload(f32ToHalf(w).bits, 'bench.w16', 'f16'), ref: roundToHalf(w) } : undefined };
  const yb = gpu.storage(maxM * maxN * 4, 'bench.y');
  try {
    for (const weightDtype of dtypes) for (const variant of opts.variants ?? MATMUL_VARIANTS) {
      const wt = weights[weightDtype]!;
      const kernel = await MatmulKernel.create(gpu, { variant, weightDtype });
      const bound = kernel.bind({ x: xb, w: wt.buf, y: yb }, `bench.${variant}.${weightDtype}`);
      let warm = false;
      let lastGflops = 0;
      for (const shape of shapes) {
        if (warm) {
          const estimate = (flops(shape) / (lastGflops * 1e9)) * 1e3;
          if (estimate > (opts.quick ? SKIP_MS_QUICK : SKIP_MS)) {
            const row = { variant, weightDtype, ...shape, runs: 0, ms: estimate, gflops: lastGflops, maxErr: Number.NaN };
            rows.push(row);
            log(formatRow(row));
            continue;
          }
        }
        bound.update(shape);
        // The first dispatch of a pipeline pays one-time costs (SwiftShader compiles it then).
        const first = await timeOnce(gpu, bound);
        const estimate = warm ? (flops(shape) / (lastGflops * 1e9)) * 1e3 : first;
        const times = warm ? [first] : [];
        warm = true;
        const runs = opts.quick ? 1 : estimate > 3000 ? 1 : Math.min(MAX_RUNS, Math.max(3, Math.floor(CASE_BUDGET_MS / estimate)));
        while (times.length < runs) times.push(await timeOnce(gpu, bound));
        const ms = median(times);
        const gflops = flops(shape) / (ms * 1e6);
        lastGflops = gflops;
        const maxErr = await sampleError(gpu, yb, x, wt.ref, shape);
        const row = { variant, weightDtype, ...shape, runs: times.length, ms, gflops, maxErr };
        rows.push(row);
        log(formatRow(row));
      }
      bound.destroy();
    }
  } finally {
    xb.destroy();
    weights.f32.buf.destroy();
    weights.f16?.buf.destroy();
    gpu.pool.release(yb);
  }
  const a = gpu.adapter;
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
  return { adapter, isSoftware: a.isSoftware, source: a.source, rows };
}

/** Check SAMPLES outputs (always including the last row and column) against float64 dot products. */
async function sampleError(gpu: Gpu, yb: GPUBuffer, x: Float32Array, w: Float32Array, s: MatmulShape): Promise<number> {
  const y = new Float32Array(await gpu.read(yb, s.M * s.N * 4));
  let err = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const m = i === 0 ? s.M - 1 : (i * 7919) % s.M;
    const n = i === 0 ? s.N - 1 : (i * 104729) % s.N;
    let ref = 0;
    for (let k = 0; k < s.K; k++) ref += x[m * s.K + k] * w[n * s.K + k];
    const d = Math.abs(y[m * s.N + n] - ref);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err;
}

function formatRow(r: BenchRow): string {
  const shape = `${r.M}×${r.K}·${r.N}`;
  const name = `${r.variant}${r.weightDtype === 'f16' ? '/f16' : ''}`;
  if (r.runs === 0) {
    return `${name.padEnd(12)}  ${shape.padStart(15)}  skipped: ~${(r.ms / 1000).toFixed(0)} s per run at ${r.gflops.toFixed(2)} GFLOP/s`;
  }
  return [
    name.padEnd(12),
    shape.padStart(15),
    r.ms.toFixed(r.ms < 10 ? 3 : 1).padStart(10),
    r.gflops.toFixed(2).padStart(9),
    String(r.runs).padStart(5),
    r.maxErr.toExponential(1).padStart(9),
  ].join('  ');
}

export function formatReport(title: string, report: BenchReport): string {
  const head = ['variant'.padEnd(12), 'T×K·N'.padStart(15), 'ms'.padStart(10), 'GFLOP/s'.padStart(9), 'runs'.padStart(5), 'max err'.padStart(9)].join('  ');
  const lines = [
    `${title}: ${report.adapter}${report.isSoftware ? ' (software)' : ''}`,
    head,
    '-'.repeat(head.length),
    ...report.rows.map(formatRow),
  ];
  return lines.join('\n');
}
