// GET /metrics in the Prometheus text exposition format (version 0.0.4). Names follow vLLM where the
// meaning is the same (vllm:num_requests_waiting, vllm:prompt_tokens_total,
// vllm:request_queue_time_seconds, vllm:e2e_request_latency_seconds) and the HTTP metrics of
// prometheus-fastapi-instrumentator, which vLLM's server exposes (http_requests_total by handler,
// method and status; http_request_duration_seconds) — so a dashboard made for vLLM reads these.
// wgpool's own: batch size per request and the scheduler's mean batch fill.
//
// Status labels are exact codes ("200", "400"), not the instrumentator's grouped "2xx": a 400 and
// a 413 are different problems. Only matched routes become handler labels (unmatched: "none"), so
// random paths cannot grow the series without bound.

import type { EngineApi } from '../router/types';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }
}

/** Label set → value (or histogram), keyed by the rendered label string. */
class Family<T> {
  readonly series = new Map<string, T>();
  constructor(private readonly make: () => T) {}
  get(labels: Record<string, string>): T {
    const key = renderLabels(labels);
    let v = this.series.get(key);
    if (v === undefined) {
      v = this.make();
      this.series.set(key, v);
    }
    return v;
  }
}

/** Prometheus label values escape backslash, double quote and newline. */
function renderLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A number as Prometheus writes it (+Inf, NaN, plain decimals). */
function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function withLabel(key: string, extra: string): string {
  return key ? `${key.slice(0, -1)},${extra}}` : `{${extra}}`;
}

export interface RequestRecord {
  handler: string;
  method: string;
  status: number;
  seconds: number;
  model?: string;
  queueSeconds?: number;
  batchSize?: number;
  promptTokens?: number;
}

export class Metrics {
  private readonly requests = new Family(() => ({ v: 0 }));
  private readonly duration = new Family(() => new Histogram(LATENCY_BUCKETS));
  private readonly e2e = new Family(() => new Histogram(LATENCY_BUCKETS));
  private readonly queue = new Family(() => new Histogram(LATENCY_BUCKETS));
  private readonly batch = new Family(() => new Histogram(BATCH_BUCKETS));
  private readonly promptTokens = new Family(() => ({ v: 0 }));

  record(r: RequestRecord): void {
    this.requests.get({ handler: r.handler, method: r.method, status: String(r.status) }).v++;
    this.duration.get({ handler: r.handler, method: r.method }).observe(r.seconds);
    if (r.model === undefined) return;
    const model = { model_name: r.model };
    if (r.status < 400) this.e2e.get(model).observe(r.seconds);
    if (r.queueSeconds !== undefined && Number.isFinite(r.queueSeconds)) this.queue.get(model).observe(r.queueSeconds);
    if (r.batchSize !== undefined && Number.isFinite(r.batchSize)) this.batch.get(model).observe(r.batchSize);
    if (r.promptTokens !== undefined) this.promptTokens.get(model).v += r.promptTokens;
  }

  /** The exposition text; gauges are read from the engines' schedulers now. */
  render(engines: Map<string, EngineApi>): string {
    const out: string[] = [];
    const counter = (name: string, help: string, f: Family<{ v: number }>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, c] of f.series) out.push(`${name}${k} ${num(c.v)}`);
    };
    const histogram = (name: string, help: string, f: Family<Histogram>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [k, h] of f.series) {
        h.buckets.forEach((b, i) => out.push(`${name}_bucket${withLabel(k, `le="${num(b)}"`)} ${h.counts[i]}`));
        out.push(`${name}_bucket${withLabel(k, 'le="+Inf"')} ${h.count}`, `${name}_sum${k} ${num(h.sum)}`, `${name}_count${k} ${h.count}`);
      }
    };
    const gauge = (name: string, help: string, read: (s: SchedulerStatsLike) => number | undefined) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [model, engine] of engines) {
        const s = statsOf(engine);
        const v = s ? read(s) : undefined;
        if (typeof v === 'number') out.push(`${name}${renderLabels({ model_name: model })} ${num(v)}`);
      }
    };
    counter('http_requests_total', 'HTTP requests by route, method and status.', this.requests);
    histogram('http_request_duration_seconds', 'HTTP request duration by route and method, in seconds.', this.duration);
    histogram('vllm:e2e_request_latency_seconds', 'Latency of successful requests, in seconds.', this.e2e);
    histogram('vllm:request_queue_time_seconds', 'Time requests waited in the scheduler queue, in seconds.', this.queue);
    histogram('wgpool:request_batch_size', 'Sequences in the largest batch each request ran in.', this.batch);
    counter('vllm:prompt_tokens_total', 'Prompt tokens processed.', this.promptTokens);
    gauge('vllm:num_requests_waiting', 'Requests waiting in the scheduler queue.', (s) => s.queuedRequests);
    gauge('vllm:num_requests_running', 'Batches running on the GPU.', (s) => s.inFlight);
    gauge('wgpool:queued_tokens', 'Tokens waiting in the scheduler queue.', (s) => s.queuedTokens);
    gauge('wgpool:batches_run', 'Batches run since start (a gauge: it restarts with the engine).', (s) => s.batches);
    gauge('wgpool:mean_batch_fill', 'Mean fill of the token budget over all batches (0..1).', (s) => s.meanBatchFill);
    gauge('wgpool:mean_batch_size', 'Mean sequences per batch.', (s) => s.meanBatchSize);
    // GPU memory of each engine: buffers alive (weights, params, activations) and, of those, the
    // freed ones the pool keeps for reuse; live minus pooled is what is in use.
    gauge('wgpool:gpu_buffers_live', 'GPU buffers alive, pooled free ones included.', (s) => s.gpuBuffers?.liveBuffers);
    gauge('wgpool:gpu_bytes_live', 'Bytes of the GPU buffers alive.', (s) => s.gpuBuffers?.liveBytes);
    gauge('wgpool:gpu_buffers_pooled_free', 'Freed GPU buffers the pool keeps for reuse.', (s) => s.gpuBuffers?.pooledFreeBuffers);
    gauge('wgpool:gpu_bytes_pooled_free', 'Bytes of the freed GPU buffers the pool keeps.', (s) => s.gpuBuffers?.pooledFreeBytes);
    return out.join('\n') + '\n';
  }
}

/** The scheduler statistics an engine may expose (Engine.stats(); the fake and worker engines have none). */
interface SchedulerStatsLike {
  batches: number;
  meanBatchFill: number;
  meanBatchSize: number;
  queuedTokens: number;
  queuedRequests: number;
  inFlight: number;
  gpuBuffers?: { liveBuffers: number; liveBytes: number; pooledFreeBuffers: number; pooledFreeBytes: number };
}

function statsOf(engine: EngineApi): SchedulerStatsLike | null {
  const f = (engine as { stats?: () => unknown }).stats;
  if (typeof f !== 'function') return null;
  const s = f.call(engine) as SchedulerStatsLike | undefined;
  return s && typeof s.queuedRequests === 'number' ? s : null;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
