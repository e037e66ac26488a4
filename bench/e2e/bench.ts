// The end-to-end harness, shared by the page (demo/bench/, driven by bench/run.mjs through
// Playwright) and the Node entry (bench/e2e/node.ts). Systems run one after another, each loaded,
// timed and disposed before the next, on the same texts:
//
//   load      createEngine / pipeline(): files, weights, device, pipelines or sessions
//   first     the first request (for Transformers.js WebGPU this is where its shaders compile)
//   runs      `runs` more requests of the same texts: median, min, max
//
// then the extra workloads (uniform, rerank, concurrent, batch) on the warm system. Timing is wall
// clock around the awaited call, readback of the answer included. All timings in milliseconds.

import { loadModelConfig } from '../../src/models/config';
import type { ModelSource } from '../../src/loading/source';
import { resolvePoolingConfig } from '../../src/pooling/config';
import { TextTokenizer } from '../../src/tokenizer/tokenizer';
import { FLOPS_FORMULA, flopsModel, usefulFlops, type FlopsModel } from './flops';
import type { BenchSystem, BenchTask, LoadMemory, LoadTiming, SystemName } from './systems';
import { mixedTexts, rerankQuery, uniformTexts } from './texts';

export const WORKLOADS = ['uniform', 'rerank', 'concurrent', 'batch'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface BenchOptions {
  /** Systems to run, in this order. */
  systems: SystemName[];
  /** Timed runs after the first request (per system; `runsFor` overrides). */
  runs: number;
  runsFor?: Partial<Record<SystemName, number>>;
  /** Texts of the main workload; default: the 32 mixed-length texts. */
  texts?: string[];
  /** Extra workloads after the main one. */
  workloads?: Workload[];
  /** Systems that run the extra workloads (default: all that run). */
  workloadSystems?: SystemName[];
  /** Concurrent single-text callers per level. */
  concurrency?: number[];
  /** Requests per concurrency level (default max(16, callers): at least two rounds for few callers). */
  concurrentRequests?: number;
  batchSizes?: number[];
  /** Progress lines. */
  log?: (line: string) => void;
  /** Keep the main workload's embeddings in the result (for diffs across runtimes). */
  keepEmbeddings?: boolean;
}

export interface SystemResult {
  system: SystemName;
  runtime: 'chromium' | 'node';
  load_ms: number;
  fetch_ms: number | null;
  compile_ms: number | null;
  /** Memory of the load (wgpool on WebGPU): see LoadMemory in systems.ts. */
  load_memory?: LoadMemory;
  first_ms: number;
  /** load + first request. */
  cold_ms: number;
  /** first − median: lazy shader compilation (Transformers.js WebGPU), JIT and allocation warm-up. */
  warmup_ms: number;
  /** Tokenizing the texts alone (median of 3), part of every request's time. */
  tokenize_ms: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** (max − min) / median, in percent. */
  spread_pct: number;
  runs_ms: number[];
  texts: number;
  /** Real tokens per request (special tokens included). */
  tokens: number;
  /** Tokens the system computes per request: real ones when it packs, batch × longest when it pads. */
  computed_tokens: number;
  /** Real tokens / median. */
  tokens_per_s: number;
  /** Useful GFLOP / median (see flops_formula). */
  gflops: number | null;
  /** Largest |difference| between this system's embeddings and each other system's. */
  max_abs_diff: Record<string, number>;
  [detail: string]: unknown;
}

export interface TimedRow {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs_ms: number[];
}

export interface ConcurrentRow {
  concurrency: number;
  requests: number;
  total_ms: number;
  requests_per_s: number;
  tokens_per_s: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  /** wgpool: scheduler batches during this level, mean fill (batch tokens / maxBatchTokens) and size. */
  batches: number | null;
  mean_batch_fill: number | null;
  mean_batch_size: number | null;
}

export interface BatchRow extends TimedRow {
  batch: number;
  tokens: number;
  tokens_per_s: number;
}

export interface WorkloadResults {
  uniform?: { texts: number; tokens: number; systems: Partial<Record<SystemName, TimedRow & { tokens_per_s: number; gflops: number | null }>> };
  rerank?: {
    documents: number;
    tokens: number;
    systems: Partial<Record<SystemName, TimedRow & { tokens_per_s: number }>>;
    max_abs_diff: Record<string, number>;
  };
  concurrent?: { systems: Partial<Record<SystemName, ConcurrentRow[]>> };
  batch?: { systems: Partial<Record<SystemName, BatchRow[]>> };
}

export interface BenchResult {
  model: { id: string; architecture: string; model_type: string; task: BenchTask; hidden_size: number; layers: number; non_embedding_params: number | null; pooling: string; normalize: boolean };
  main: {
    texts: number;
    tokens: number;
    /** Longest text × number of texts: what a padding system computes. */
    padded_tokens: number;
    min_tokens: number;
    max_tokens: number;
    lengths: number[];
    useful_gflop: number | null;
    flops_formula: string;
  };
  systems: Partial<Record<SystemName, SystemResult>>;
  errors: Partial<Record<SystemName, string>>;
  workloads: WorkloadResults;
  /** The main workload's embeddings per system (only with keepEmbeddings). */
  embeddings?: Partial<Record<SystemName, number[][]>>;
  texts: string[];
}

const now = (): number => performance.now();

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export function maxAbsDiff(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return Infinity;
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j] - y[j]));
  }
  return m;
}

async function timeRuns(n: number, f: () => Promise<unknown>): Promise<TimedRow> {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await f();
    runs.push(now() - t0);
  }
  return { median_ms: median(runs), min_ms: Math.min(...runs), max_ms: Math.max(...runs), runs_ms: runs };
}

export interface Prepared {
  source: ModelSource;
  tokenizer: TextTokenizer;
  config: Record<string, unknown>;
  flops: FlopsModel | null;
  pooling: string;
  normalize: boolean;
  /** embed, or classify for a sequence classifier (its outputs: probabilities in label-id order). */
  task: BenchTask;
  /** id2label in id order (classify). */
  labels: string[];
  hasOnnx: boolean;
  maxLength: number;
}

/** What every system needs to know about the model, read once with wgpool's loaders. */
export async function prepare(source: ModelSource): Promise<Prepared> {
  const [raw, typed, tokenizer, hasOnnx] = await Promise.all([
    source.json<Record<string, unknown>>('config.json'),
    loadModelConfig(source),
    TextTokenizer.load(source),
    source.exists('onnx/model.onnx'),
  ]);
  const pooling = await resolvePoolingConfig(source, typed);
  const maxPos = typeof raw.max_position_embeddings === 'number' ? raw.max_position_embeddings : Infinity;
  const task: BenchTask = typed.head === 'sequence-classification' ? 'classify' : 'embed';
  if (typed.head === 'token-classification') throw new Error(`${typed.architecture}: the bench times embed and classify; a token classifier has neither`);
  const id2label = (raw.id2label ?? {}) as Record<string, string>;
  const labels = Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]);
  return {
    source,
    tokenizer,
    config: raw,
    flops: flopsModel(raw),
    pooling: pooling.mode,
    normalize: pooling.normalize,
    task,
    labels,
    hasOnnx,
    maxLength: Math.min(tokenizer.modelMaxLength, maxPos, pooling.maxSeqLength ?? Infinity),
  };
}

export async function runBench(p: Prepared, make: (name: SystemName) => BenchSystem, opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => undefined);
  const count = (t: string) => Math.min(p.tokenizer.encode(t).ids.length, p.maxLength);
  const texts = opts.texts ?? mixedTexts(count);
  const lengths = texts.map(count);
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const longest = Math.max(...lengths);
  const flops = p.flops ? usefulFlops(p.flops, lengths) : null;
  const workloads = opts.workloads ?? [];
  const extraSystems = new Set(opts.workloadSystems ?? opts.systems);

  const uniform = workloads.includes('uniform') ? uniformTexts(count) : null;
  const uniformLengths = uniform?.map(count) ?? [];
  const query = workloads.includes('rerank') ? rerankQuery(count) : null;

  const result: BenchResult = {
    model: {
      id: p.source.id,
      architecture: String((p.config.architectures as string[] | undefined)?.[0] ?? ''),
      task: p.task,
      model_type: String(p.config.model_type ?? ''),
      hidden_size: p.flops?.hidden ?? Number(p.config.hidden_size),
      layers: p.flops?.layers ?? Number(p.config.num_hidden_layers),
      non_embedding_params: p.flops?.params ?? null,
      pooling: p.pooling,
      normalize: p.normalize,
    },
    main: {
      texts: texts.length,
      tokens,
      padded_tokens: longest * texts.length,
      min_tokens: Math.min(...lengths),
      max_tokens: longest,
      lengths,
      useful_gflop: flops === null ? null : flops / 1e9,
      flops_formula: FLOPS_FORMULA,
    },
    systems: {},
    errors: {},
    workloads: {},
    texts,
  };
  const embeddings: Partial<Record<SystemName, Float32Array[]>> = {};
  const rerankScores: Partial<Record<SystemName, number[]>> = {};
  const w = result.workloads;
  if (uniform) w.uniform = { texts: uniform.length, tokens: uniformLengths.reduce((a, b) => a + b, 0), systems: {} };
  if (query) w.rerank = { documents: texts.length, tokens: count(query) + tokens, systems: {}, max_abs_diff: {} };
  if (workloads.includes('concurrent')) w.concurrent = { systems: {} };
  if (workloads.includes('batch')) w.batch = { systems: {} };

  for (const name of opts.systems) {
    const sys = make(name);
    const runs = opts.runsFor?.[name] ?? opts.runs;
    try {
      log(`${name}: loading`);
      const load: LoadTiming = await sys.load();
      log(`${name}: loaded in ${fmt(load.loadMs)} ms${load.compileMs !== null ? ` (pipelines ${fmt(load.compileMs)} ms, files ${fmt(load.fetchMs ?? 0)} ms)` : ''}; first request…`);
      if (load.memory) log(`${name}: load memory ${JSON.stringify(load.memory)}`);
      let t0 = now();
      const first = await sys.outputs(texts);
      const firstMs = now() - t0;
      log(`${name}: first request ${fmt(firstMs)} ms; ${runs} timed run${runs === 1 ? '' : 's'}…`);
      embeddings[name] = first;
      const timed = await timeRuns(runs, () => sys.outputs(texts));
      const med = timed.median_ms;
      const tokenizeMs = median([0, 1, 2].map(() => sys.tokenize(texts)));
      const computed = name.startsWith('wgpool') ? tokens : longest * texts.length;
      result.systems[name] = {
        system: name,
        runtime: sys.runtime,
        ...sys.describe(),
        load_ms: load.loadMs,
        fetch_ms: load.fetchMs,
        compile_ms: load.compileMs,
        ...(load.memory ? { load_memory: load.memory } : {}),
        first_ms: firstMs,
        cold_ms: load.loadMs + firstMs,
        warmup_ms: firstMs - med,
        tokenize_ms: tokenizeMs,
        ...timed,
        spread_pct: med > 0 ? ((timed.max_ms - timed.min_ms) / med) * 100 : 0,
        texts: texts.length,
        tokens,
        computed_tokens: computed,
        tokens_per_s: tokens / (med / 1000),
        gflops: flops === null ? null : flops / 1e9 / (med / 1000),
        max_abs_diff: {},
      };
      log(`${name}: median ${fmt(med)} ms, ${fmt(tokens / (med / 1000))} tokens/s`);

      if (extraSystems.has(name)) {
        const xruns = Math.max(1, runs);
        if (uniform && w.uniform) {
          await sys.outputs(uniform);
          const t = await timeRuns(xruns, () => sys.outputs(uniform));
          const ut = w.uniform.tokens;
          w.uniform.systems[name] = { ...t, tokens_per_s: ut / (t.median_ms / 1000), gflops: p.flops ? usefulFlops(p.flops, uniformLengths) / 1e9 / (t.median_ms / 1000) : null };
          log(`${name}: uniform ${fmt(t.median_ms)} ms`);
        }
        if (query && w.rerank) {
          rerankScores[name] = await sys.rerank(query, texts);
          const t = await timeRuns(xruns, () => sys.rerank(query, texts));
          w.rerank.systems[name] = { ...t, tokens_per_s: w.rerank.tokens / (t.median_ms / 1000) };
          log(`${name}: rerank 1→${texts.length} ${fmt(t.median_ms)} ms`);
        }
        if (w.concurrent) {
          const rows: ConcurrentRow[] = [];
          for (const c of opts.concurrency ?? [1, 8, 64]) {
            rows.push(await concurrent(sys, texts, lengths, c, opts.concurrentRequests ?? Math.max(16, c)));
            const r = rows[rows.length - 1];
            log(`${name}: ${c} concurrent callers: ${fmt(r.requests_per_s)} req/s${r.mean_batch_size !== null ? `, mean batch ${fmt(r.mean_batch_size)} texts` : ''}`);
          }
          w.concurrent.systems[name] = rows;
        }
        if (w.batch) {
          const rows: BatchRow[] = [];
          for (const b of opts.batchSizes ?? [1, 2, 4, 8, 16, 32]) {
            if (b > texts.length) continue;
            const sub = texts.slice(0, b);
            const subTokens = lengths.slice(0, b).reduce((a, x) => a + x, 0);
            await sys.outputs(sub); // a new batch shape may grow buffers once
            const t = await timeRuns(xruns, () => sys.outputs(sub));
            rows.push({ batch: b, tokens: subTokens, ...t, tokens_per_s: subTokens / (t.median_ms / 1000) });
          }
          w.batch.systems[name] = rows;
          log(`${name}: latency vs batch size ${rows.map((r) => `${r.batch}:${fmt(r.median_ms)}`).join(' ')} ms`);
        }
      }
    } catch (e) {
      const msg = (e as Error)?.stack ?? String(e);
      result.errors[name] = msg;
      log(`${name}: FAILED ${msg}`);
    } finally {
      try {
        await sys.dispose();
      } catch (e) {
        log(`${name}: dispose failed: ${String(e)}`);
      }
    }
  }

  // Differences between every pair of systems that produced embeddings.
  const names = Object.keys(embeddings) as SystemName[];
  for (const a of names) {
    for (const b of names) {
      if (a === b || !result.systems[a]) continue;
      result.systems[a]!.max_abs_diff[b] = maxAbsDiff(embeddings[a]!, embeddings[b]!);
    }
  }
  if (w.rerank) {
    const rn = Object.keys(rerankScores) as SystemName[];
    for (let i = 0; i < rn.length; i++) {
      for (let j = i + 1; j < rn.length; j++) {
        const d = rerankScores[rn[i]]!.reduce((m, s, k) => Math.max(m, Math.abs(s - rerankScores[rn[j]]![k])), 0);
        w.rerank.max_abs_diff[`${rn[i]} vs ${rn[j]}`] = d;
      }
    }
  }
  if (opts.keepEmbeddings) {
    result.embeddings = Object.fromEntries(names.map((n) => [n, embeddings[n]!.map((v) => Array.from(v))]));
  }
  return result;
}

/**
 * `requests` single-text requests from `callers` concurrent callers, each sending its next request
 * when the previous one returns (a closed loop, like clients of a server).
 */
async function concurrent(sys: BenchSystem, texts: string[], lengths: number[], callers: number, requests: number): Promise<ConcurrentRow> {
  const before = sys.stats?.();
  const latencies: number[] = [];
  let next = 0;
  let tokens = 0;
  const t0 = now();
  const caller = async () => {
    for (let i = next++; i < requests; i = next++) {
      const k = i % texts.length;
      const s = now();
      await sys.outputs([texts[k]]);
      latencies.push(now() - s);
      tokens += lengths[k];
    }
  };
  await Promise.all(Array.from({ length: Math.min(callers, requests) }, caller));
  const total = now() - t0;
  const after = sys.stats?.();
  let batches: number | null = null;
  let fill: number | null = null;
  let size: number | null = null;
  if (before && after) {
    // The scheduler's means are over all batches since load; take this level's share.
    batches = after.batches - before.batches;
    fill = batches ? (after.meanBatchFill * after.batches - before.meanBatchFill * before.batches) / batches : 0;
    size = batches ? (after.meanBatchSize * after.batches - before.meanBatchSize * before.batches) / batches : 0;
  }
  return {
    concurrency: callers,
    requests,
    total_ms: total,
    requests_per_s: requests / (total / 1000),
    tokens_per_s: tokens / (total / 1000),
    latency_p50_ms: quantile(latencies, 0.5),
    latency_p95_ms: quantile(latencies, 0.95),
    batches,
    mean_batch_fill: fill,
    mean_batch_size: size,
  };
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}
