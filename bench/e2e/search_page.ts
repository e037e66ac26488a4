// Page entry of the search workload: bench/run.mjs --workload search opens bench/e2e/search.html
// and resolves window.wgpoolSearchBench.run(options).
import { Gpu } from '../../src/gpu/context';
import { runSearchBench, type SearchBenchOptions, type SearchBenchResult } from './search';

declare global {
  interface Window {
    wgpoolSearchBench: { ready: boolean; run(opts: Omit<SearchBenchOptions, 'log'>): Promise<SearchBenchResult> };
  }
}

const logEl = document.getElementById('log')!;
window.wgpoolSearchBench = {
  ready: true,
  async run(opts) {
    const gpu = await Gpu.create();
    try {
      return await runSearchBench(gpu, {
        ...opts,
        log: (line) => {
          logEl.textContent += `${line}\n`;
          console.log(line);
        },
      });
    } finally {
      gpu.destroy();
    }
  },
};
