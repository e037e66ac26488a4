// Peak memory of one model load in Node (wgpool on Dawn): process RSS, V8 heap and ArrayBuffer
// bytes, sampled every 2 ms from before the load until the engine is ready, plus the load timeline
// (download / parse / upload / compile ms). `npm run bench -- --load-memory` bundles and runs it:
//
//   node .bench/e2e/load_memory.mjs MODEL_DIR [DTYPE]
//
// DTYPE is the dtype option (auto, f32, f16; `--dtype`): f16 on lavapipe measures an f16 load.
//
// prints one JSON object on stdout. On SwiftShader the "GPU" buffers are host memory too, so RSS
// includes the f32 weights once however they are loaded; the difference between a buffered and a
// streamed load is the checkpoint bytes held in JS (arrayBuffers) and the staging copies.

import { createEngine } from '../../src/index';
import type { DtypeChoice } from '../../src/gpu/weight_dtype';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node load_memory.mjs MODEL_DIR [auto|f32|f16]');
const dtype = (process.argv[3] ?? 'auto') as DtypeChoice;

const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
const base = process.memoryUsage();
const peak = { rss: base.rss, heapUsed: base.heapUsed, arrayBuffers: base.arrayBuffers, external: base.external };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.external = Math.max(peak.external, m.external);
};
const timer = setInterval(sample, 2);
const t0 = performance.now();
// Sampled from progress events too: a long synchronous step would otherwise hide between timer ticks.
const engine = await createEngine({ model: dir, dtype, onProgress: sample });
const loadMs = performance.now() - t0;
clearInterval(timer);
sample();
const after = process.memoryUsage();
const t = engine.loadTimeline!;
process.stdout.write(
  JSON.stringify({
    model: dir,
    dtype: engine.info.dtype,
    load_ms: Math.round(loadMs),
    timeline_ms: { download: Math.round(t.download), parse: Math.round(t.parse), upload: Math.round(t.upload), compile: Math.round(t.compile) },
    peak_mb: { rss: mb(peak.rss), heap_used: mb(peak.heapUsed), array_buffers: mb(peak.arrayBuffers), external: mb(peak.external) },
    before_mb: { rss: mb(base.rss), heap_used: mb(base.heapUsed), array_buffers: mb(base.arrayBuffers) },
    after_load_mb: { rss: mb(after.rss), heap_used: mb(after.heapUsed), array_buffers: mb(after.arrayBuffers) },
    // What the load estimated it needs on the GPU (src/loading/memory.ts), and what it holds.
    gpu_estimate_mb: engine.memory ? { weights: mb(engine.memory.weightsBytes), activations: mb(engine.memory.activationBytes), batch_tokens: engine.memory.batchTokens } : null,
    gpu_live_mb: mb(engine.liveBuffers().bytes),
  }) + '\n',
);
await engine.dispose();
process.exit(0);
