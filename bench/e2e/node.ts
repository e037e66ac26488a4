// Node entry of the end-to-end bench: wgpool on Dawn (npm `webgpu`) and, when the model has an
// ONNX export, Transformers.js on onnxruntime-node (CPU) for reference. bench/run.mjs bundles this
// file with bench/build.mjs into .bench/e2e/node.mjs and runs it as
//
//   node .bench/e2e/node.mjs OPTIONS.json
//
// where OPTIONS.json holds NodeBenchOptions; the result (BenchResult) is written to options.out.
// Progress goes to stderr.

import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { resolveSource } from '../../src/loading/source';
import { prepare, runBench, type BenchOptions } from './bench';
import { TransformersJsSystem, WgpoolSystem, tjsPooling, type BenchSystem, type SystemName, type TjsModule } from './systems';
import type { MatmulVariant } from '../../src/kernels/matmul';

export interface NodeBenchOptions extends Omit<BenchOptions, 'log' | 'systems'> {
  model: string;
  out: string;
  /** Also run Transformers.js on onnxruntime-node (when onnx/model.onnx exists). */
  tjs: boolean;
  matmulVariant?: MatmulVariant;
}

const opts = JSON.parse(readFileSync(process.argv[2], 'utf8')) as NodeBenchOptions;
const dir = resolve(opts.model);
const log = (line: string) => process.stderr.write(`  [node] ${line}\n`);

const p = await prepare(await resolveSource(dir));
const systems: SystemName[] = ['wgpool_node', 'wgpool_cpu_node'];
let tjs: TjsModule | null = null;
// A classifier's pooling is inside Transformers.js' text-classification model; an embedder's must be one it has.
const pooling = p.task === 'classify' ? p.pooling : tjsPooling(p.pooling);
if (opts.tjs && p.hasOnnx && pooling) {
  // A computed specifier keeps Transformers.js (and onnxruntime-node's native addon) out of the bundle.
  const name = '@huggingface/transformers';
  tjs = (await import(/* @vite-ignore */ name)) as TjsModule;
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${dirname(dir)}/`;
  tjs.env.useFSCache = false;
  systems.push('transformersjs_node');
} else if (opts.tjs) {
  log(`transformersjs_node skipped: ${!p.hasOnnx ? `${dir}/onnx/model.onnx is missing` : `Transformers.js has no "${p.pooling}" pooling`}`);
}

const make = (name: SystemName): BenchSystem =>
  name === 'wgpool_node' || name === 'wgpool_cpu_node'
    ? new WgpoolSystem({ name, source: p.source, matmulVariant: opts.matmulVariant, task: p.task })
    : new TransformersJsSystem({ name: 'transformersjs_node', tjs: tjs!, modelId: basename(dir), pooling: pooling!, normalize: p.normalize, task: p.task, labels: p.labels });

const result = await runBench(p, make, { ...opts, systems, log });
writeFileSync(opts.out, JSON.stringify({ environment: { runtime: 'node', node: process.version, platform: `${process.platform}-${process.arch}` }, ...result }));
// Dawn's instance keeps the event loop alive; the work is done.
process.exit(0);
