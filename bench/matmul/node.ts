// Node entry of the matmul benchmark (Dawn via the npm `webgpu` package). Bundled by bench/build.mjs
// and run by bench/matmul/cli.mjs; on its own: node .bench/matmul/node.mjs [--quick] [--json].

import { Gpu } from '../../src/gpu/context';
import { benchMatmul, formatReport } from './run';

const args = new Set(process.argv.slice(2));
const gpu = await Gpu.create();
try {
  const report = await benchMatmul(gpu, {
    quick: args.has('--quick'),
    log: (line) => process.stderr.write(`  ${line}\n`),
  });
  console.log(args.has('--json') ? JSON.stringify(report) : formatReport('Node (Dawn)', report));
} finally {
  gpu.destroy();
}
