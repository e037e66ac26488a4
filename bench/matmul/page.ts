// Browser entry of the matmul benchmark: bench/matmul/index.html loads it; cli.mjs (Playwright) calls
// window.runMatmulBench() and reads the report it resolves to. Opened by hand, `?run` starts it.

import { Gpu } from '../../src/gpu/context';
import { benchMatmul, formatReport, type BenchReport } from './run';

declare global {
  interface Window {
    runMatmulBench: (opts?: { quick?: boolean }) => Promise<{ report: BenchReport; table: string }>;
  }
}

const out = document.getElementById('out')!;

window.runMatmulBench = async (opts = {}) => {
  const gpu = await Gpu.create();
  try {
    out.textContent = 'running…\n';
    const report = await benchMatmul(gpu, {
      quick: opts.quick,
      log: (line) => {
        out.textContent += `${line}\n`;
        console.log(line);
      },
    });
    const table = formatReport('Chromium (WebGPU)', report);
    out.textContent = table;
    return { report, table };
  } finally {
    gpu.destroy();
  }
};

const params = new URLSearchParams(location.search);
if (params.has('run')) {
  window.runMatmulBench({ quick: params.has('quick') }).catch((e: Error) => (out.textContent = String(e.stack ?? e)));
}
