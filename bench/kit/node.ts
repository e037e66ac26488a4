// Node entry of the GPU benchmark kit (scripts/bench-kit.mjs bundles it into kit/bench.mjs; the
// kit's run.sh runs it with the Node and Dawn it brings). Synthesizes random-weight BERT models
// (bench/kit/model.ts), runs wgpool end to end at batch 1/8/32 × sequence 128/512 and the matmul
// benchmark, and prints one JSON document on stdout (progress on stderr).
//
//   node bench.mjs [--quick] [--models minilm-l6,bge-base] [--work DIR] [--runs N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../../src/index';
import { Gpu } from '../../src/gpu/context';
import { benchMatmul } from '../matmul/run';
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
  },
});
const quick = args.quick!;
const log = (line: string) => process.stderr.write(`  [kit] ${line}\n`);
const list = (s: string | undefined, d: string) => (s ?? d).split(',').filter(Boolean);
const models = list(args.models, quick ? 'tiny' : 'minilm-l6,bge-base');
const batches = list(args.batches, quick ? '1,8' : '1,8,32').map(Number);
const seqs = list(args.seqs, quick ? '16,128' : '128,512').map(Number);
const runs = Number(args.runs ?? (quick ? 1 : 3));
for (const m of models) if (!SHAPES[m]) throw new Error(`unknown model shape "${m}" (have ${Object.keys(SHAPES).join(', ')})`);

const work = mkdtempSync(join(args.work ?? tmpdir(), 'wgpool-kit-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result: Record<string, unknown> = { kit: 'wgpool-gpu-kit/1', node: process.version, quick, dtype: 'f32' };
try {
  const e2e: unknown[] = [];
  for (const name of models) {
    const shape = SHAPES[name];
    let t0 = performance.now();
    const dir = synthesizeModel(work, shape);
    const synthMs = performance.now() - t0;
    t0 = performance.now();
    const engine = await createEngine({ model: dir, scheduler: { maxBatchTokens: 32 * 512, maxBatchRequests: 64 }, matmulTune: 'always' });
    const loadMs = performance.now() - t0;
    result.adapter ??= engine.info.adapter;
    log(`${name}: synthesized in ${synthMs.toFixed(0)} ms, loaded in ${loadMs.toFixed(0)} ms, matmul ${engine.info.matmul.variant} (${engine.info.matmul.source}, ${engine.info.matmul.costMs.toFixed(0)} ms)`);
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
          log(`${name} f32 batch ${batch} seq ${seq}: ${ms.toFixed(1)} ms, ${tokensPerSec.toFixed(0)} tokens/s, ${gflops.toFixed(1)} GFLOP/s`);
        }
      }
    } finally {
      await engine.dispose();
    }
    e2e.push({ model: name, shape, dtype: 'f32', synthMs, loadMs, matmul: engine.info.matmul, rows });
    rmSync(dir, { recursive: true, force: true });
  }
  result.e2e = e2e;
  const gpu = await Gpu.create();
  try {
    result.matmul = await benchMatmul(gpu, { quick, log });
  } finally {
    gpu.destroy();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
