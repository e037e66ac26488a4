import { Gpu } from '../../../../src/gpu/context';
import { LayerNormKernel } from '../../../../src/kernels/layer_norm';

// Proves WebGPU in the page: the adapter report and one kernel round trip.
export default async function run() {
  const gpu = await Gpu.create();
  const k = await LayerNormKernel.create(gpu, { workgroupSize: 64 });
  const n = 5;
  const x = new Float32Array([1, 2, 3, 4, 10]);
  const ones = new Float32Array(n).fill(1);
  const zeros = new Float32Array(n);
  const y = gpu.storage(n * 4, 'y');
  const d = k.bind({ x: gpu.upload(x, 'x'), gamma: gpu.upload(ones, 'g'), beta: gpu.upload(zeros, 'b'), y }).update({ rows: 1, n, eps: 1e-5 });
  await gpu.run([d]);
  const out = Array.from(new Float32Array(await gpu.read(y, n * 4)));
  const report = gpu.adapter;
  gpu.destroy();
  return { report, out };
}
