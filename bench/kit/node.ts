// Node entry of the GPU benchmark kit (scripts/bench-kit.mjs bundles it into kit/bench.mjs; the
// kit's run.sh runs it with the Node and Dawn it brings). Synthesizes random-weight BERT models
// (bench/kit/model.ts), runs wgpool end to end at batch 1/8/32 × sequence 128/512 and the matmul
// benchmark, and prints one JSON document on stdout (progress on stderr).
//
//   node bench.mjs [--quick] [--models minilm-l6,bge-base] [--dtypes f32,f16] [--work DIR] [--runs N]
//                  [--matmul naive|regblock|tiled (skip the trial)] [--skip-matmul-bench]
//
// Each model runs once per weight dtype (default f32 and f16; f16 is left out, with a note in the
// JSON, where the adapter has no shader-f16).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../../src/index';
import { Gpu } from '../../src/gpu/context';
import { benchMatmul } from '../matmul/run';
import type { MatmulVariant } from '../../src/kernels/matmul';
import { flopsModel, usefulFlops } from '../e2e/flops';
import { SHAPES, exactTexts, synthesizeModel } from './model';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    work: { type: 'string' },
    runs: { type: 'string' },
    batches: { type: 'string' },
    seqs: { type: 'string' },
    dtypes: { type: 'string' },
    matmul: { type: 'string' },
    'skip-matmul-bench': { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const log = (line: string) => process.stderr.write(`  [kit] ${line}\n`);
const list = (s: string | undefined, d: string) => (s ?? d).split(',').filter(Boolean);
const models = list(args.models, quick ? 'tiny' : 'minilm-l6,bge-base');
const batches = list(args.batches, quick ? '1,8' : '1,8,32').map(Number);
const seqs = list(args.seqs, quick ? '16,128' : '128,512').map(Number);
const runs = Number(args.runs ?? (quick ? 1 : 3));
const wantDtypes = list(args.dtypes, 'f32,f16') as ('f32' | 'f16')[];
for (const d of wantDtypes) if (d !== 'f32' && d !== 'f16') throw new Error(`unknown dtype "${d}" (have f32, f16)`);
for (const m of models) if (!SHAPES[m]) throw new Error(`unknown model shape "${m}" (have ${Object.keys(SHAPES).join(', ')})`);

const work = mkdtempSync(join(args.work ?? tmpdir(), 'wgpool-kit-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result: Record<string, unknown> = { kit: 'wgpool-gpu-kit/2', node: process.version, quick };
try {
  const probe = await Gpu.create();
  const dtypes = wantDtypes.filter((d) => d === 'f32' || probe.hasF16);
  probe.destroy();
  result.dtypes = dtypes;
  if (dtypes.length < wantDtypes.length) result.dtypeNote = 'f16 skipped: the adapter has no shader-f16';
  const e2e: unknown[] = [];
  for (const name of models) {
    const shape = SHAPES[name];
    let t0 = performance.now();
    const dir = synthesizeModel(work, shape);
    const synthMs = performance.now() - t0;
    for (const dtype of dtypes) {
      t0 = performance.now();
      // cache: false — each run times the trial (loadMs and matmul.costMs include it), and the kit
      // leaves nothing behind in the machine's ~/.cache.
      const engine = await createEngine({ model: dir, dtype, cache: false, scheduler: { maxBatchTokens: 32 * 512, maxBatchRequests: 64 }, ...(args.matmul ? { matmulVariant: args.matmul as MatmulVariant } : { matmulTune: 'always' as const }) });
      const loadMs = performance.now() - t0;
      result.adapter ??= engine.info.adapter;
      // The row's dtype is what the weights are stored in on the device, not only what was asked for.
      if (engine.info.dtype.name !== dtype) throw new Error(`${name}: asked for ${dtype} weights, the engine stores ${engine.info.dtype.name} (${engine.info.dtype.reason})`);
      log(`${name} ${dtype}: synthesized in ${synthMs.toFixed(0)} ms, loaded in ${loadMs.toFixed(0)} ms, matmul ${engine.info.matmul.variant} (${engine.info.matmul.source}, ${engine.info.matmul.costMs.toFixed(0)} ms)`);
      const fm = flopsModel(JSON.parse(JSON.stringify({ model_type: 'bert', num_hidden_layers: shape.layers, hidden_size: shape.hidden, intermediate_size: shape.intermediate, num_attention_heads: shape.heads })))!;
      const rows: unknown[] = [];
      try {
        for (const seq of seqs) {
          for (const batch of batches) {
            const texts = exactTexts(batch, seq);
            const first = await engine.embed(texts);
            if (first.usage.promptTokens !== batch * seq) throw new Error(`texts are ${first.usage.promptTokens} tokens, expected ${batch * seq}`);
            const times: number[] = [];
            for (let r = 0; r < runs; r++) {
              const t = performance.now();
              await engine.embed(texts);
              times.push(performance.now() - t);
            }
            const ms = median(times);
            const tokensPerSec = (batch * seq) / (ms / 1000);
            const gflops = usefulFlops(fm, Array(batch).fill(seq)) / (ms * 1e6);
            rows.push({ batch, seq, ms, tokensPerSec, gflops, runs });
            log(`${name} ${dtype} batch ${batch} seq ${seq}: ${ms.toFixed(1)} ms, ${tokensPerSec.toFixed(0)} tokens/s, ${gflops.toFixed(1)} GFLOP/s`);
          }
        }
      } finally {
        await engine.dispose();
      }
      e2e.push({ model: name, shape, dtype: engine.info.dtype.name, weightBytes: engine.info.dtype.weightBytes, synthMs, loadMs, matmul: engine.info.matmul, rows });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  result.e2e = e2e;
  if (!args['skip-matmul-bench']) {
    const gpu = await Gpu.create();
    try {
      result.matmul = await benchMatmul(gpu, { quick, log });
    } finally {
      gpu.destroy();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
