// Node entry of the search workload (Dawn): node .bench/e2e/search_node.mjs OPTIONS.json OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { Gpu } from '../../src/gpu/context';
import { runSearchBench } from './search';

const opts = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const gpu = await Gpu.create();
const result = await runSearchBench(gpu, { ...opts, log: (l: string) => process.stderr.write(`  [node] ${l}\n`) });
writeFileSync(process.argv[3], JSON.stringify(result));
gpu.destroy();
