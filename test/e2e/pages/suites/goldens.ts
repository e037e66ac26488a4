// Every golden of test/fixtures/goldens inside Chromium, through the public API on the page's main
// thread, on the backend the page's query names: ?backend=webgpu, or ?backend=cpu&threads=N (2
// threads need ?coi=1: cross-origin isolation, shared memory for the kernel workers). The checks and
// their bars are the shared table of test/helpers/golden_table.ts; the golden files come from the
// dev server as they are on disk.
import { createEngine } from '../../../../src/index';
import type { BackendChoice } from '../../../../src/backend';
import type { ReportJson } from '../../../helpers/golden_checks';
import { GOLDEN_CHECKS, runGoldenCheck } from '../../../helpers/golden_table';

export interface EngineSummary {
  backend: string;
  threads: number | null;
  simd: string | null;
  adapter: string;
  adapterSource: string;
}

export type FixtureResult = ReportJson & { ms: number; engines: EngineSummary[] };

export interface GoldensResult {
  isolated: boolean;
  results: Record<string, FixtureResult>;
}

export default async function run(args: { only?: string[] } = {}): Promise<GoldensResult> {
  const query = new URLSearchParams(location.search);
  const backend = (query.get('backend') ?? 'webgpu') as BackendChoice;
  const threads = query.has('threads') ? Number(query.get('threads')) : undefined;
  const results: Record<string, FixtureResult> = {};
  for (const name of args.only ?? Object.keys(GOLDEN_CHECKS)) {
    const t0 = performance.now();
    const engines: EngineSummary[] = [];
    const json: unknown = await (await fetch(new URL(`/test/fixtures/goldens/${name}.json`, location.href))).json();
    const report = await runGoldenCheck(name, json, async (model, options) => {
      const engine = await createEngine({ model: new URL(`/models/${model}`, location.href).href, backend, threads, ...options });
      const { info } = engine;
      engines.push({ backend: info.backend.name, threads: info.backend.threads, simd: info.backend.simd, adapter: info.adapter.description || `${info.adapter.vendor} ${info.adapter.architecture}`, adapterSource: info.adapter.source });
      return engine;
    });
    results[name] = { ...report.toJSON(), ms: Math.round(performance.now() - t0), engines };
    console.log(`goldens ${name} [${backend}${threads ? `, ${threads} threads` : ''}]: ${results[name].ms} ms${report.passed ? '' : ' FAILED'}`);
  }
  return { isolated: crossOriginIsolated, results };
}
