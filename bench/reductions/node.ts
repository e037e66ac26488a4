// Subgroup vs workgroup-memory row reductions (src/kernels/reduction.ts) on this adapter: layer_norm
// and rms_norm (workgroup-per-row schedule), softmax and l2_normalize, at encoder-sized rows.
//
//   node bench/build.mjs bench/reductions/node.ts && node .bench/reductions/node.mjs [--quick]
//
// Prints a JSON list of { kernel, reduction, rows, n, ms, gbps } (the median of 5 passes of 8
// dispatches each; GB/s counts one read and one write of the rows).

import { Gpu } from '../../src/gpu/context';
import { L2NormalizeKernel } from '../../src/kernels/l2_normalize';
import { LayerNormKernel } from '../../src/kernels/layer_norm';
import { reductionsOf, type Reduction } from '../../src/kernels/reduction';
import { RmsNormKernel } from '../../src/kernels/rms_norm';
import { SoftmaxKernel } from '../../src/kernels/softmax';

const quick = process.argv.includes('--quick');
const rows = quick ? 256 : 2048;
const n = 384;
const gpu = await Gpu.create();
const x = gpu.upload(new Float32Array(rows * n).map((_, i) => Math.sin(i)), 'x');
const w = gpu.upload(new Float32Array(n).fill(1), 'w');
const y = gpu.storage(rows * n * 4, 'y');

type Encodable = { encode(pass: GPUComputePassEncoder): void };
const make: Record<string, (r: Reduction) => Promise<Encodable>> = {
  layer_norm: async (reduction) => (await LayerNormKernel.create(gpu, { schedule: 'workgroup', reduction })).bind({ x, gamma: w, beta: w, y }).update({ rows, n, eps: 1e-12 }),
  rms_norm: async (reduction) => (await RmsNormKernel.create(gpu, { schedule: 'workgroup', reduction })).bind({ x, w, y }).update({ rows, n, eps: 1e-6 }),
  softmax: async (reduction) => (await SoftmaxKernel.create(gpu, { reduction })).bind({ x, out: y }).update({ rows, rowOffset: 0, n }),
  l2_normalize: async (reduction) => (await L2NormalizeKernel.create(gpu, { normalize: true, reduction })).bind({ x, out: y }).update({ rows, rowOffset: 0, dims: n, inStride: n, outStride: n }),
};
const out: unknown[] = [];
for (const [kernel, build] of Object.entries(make)) {
  for (const reduction of reductionsOf(gpu)) {
    const d = await build(reduction);
    const pass = Array<Encodable>(8).fill(d);
    await gpu.run(pass);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await gpu.run(pass);
      times.push((performance.now() - t) / pass.length);
    }
    const ms = times.sort((a, b) => a - b)[2];
    out.push({ kernel, reduction, rows, n, ms: +ms.toFixed(3), gbps: +((rows * n * 8) / (ms * 1e6)).toFixed(2) });
    process.stderr.write(`  ${kernel} ${reduction}: ${ms.toFixed(3)} ms\n`);
  }
}
console.log(JSON.stringify({ adapter: `${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`, results: out }, null, 2));
gpu.destroy();
process.exit(0);
