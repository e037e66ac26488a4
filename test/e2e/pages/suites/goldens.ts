// Every golden of test/fixtures/goldens inside Chromium, through the public API on the page's main
// thread, on the backend the page's query names: ?backend=webgpu, or ?backend=cpu&threads=N (2
// threads need ?coi=1: cross-origin isolation, shared memory for the kernel workers). The checks and
// their bars are the shared table of test/helpers/golden_table.ts; the golden files come from the
// dev server as they are on disk.
//
// On WebGPU every engine runs on one device the suite requests the way an engine does (Gpu.create):
// Dawn reuses a device's compiled pipelines, so only the first model of each architecture compiles
// (on SwiftShader ~14 s a load on engine-owned devices, ~0.2 s after the first on a shared one).
// Weights are stored f32 (dtype 'f32'): 'auto' would take f16 on a hardware adapter with shader-f16,
// whose own bars are test/models/f16.test.ts's, not these.
import { createEngine } from '../../../../src/index';
import type { BackendChoice } from '../../../../src/backend';
import { Gpu } from '../../../../src/gpu/context';
import type { AdapterReport } from '../../../../src/gpu/device';
import type { ReportJson } from '../../../helpers/golden_checks';
import { GOLDEN_CHECKS, runGoldenCheck } from '../../../helpers/golden_table';

export interface EngineSummary {
  backend: string;
  threads: number | null;
  simd: string | null;
  dtype: string;
  adapter: string;
  adapterSource: string;
}

export type FixtureResult = ReportJson & { ms: number; engines: EngineSummary[] };

export interface GoldensResult {
  isolated: boolean;
  /** The shared WebGPU device's adapter (null on the CPU backend). */
  adapter: AdapterReport | null;
  results: Record<string, FixtureResult>;
}

export default async function run(args: { only?: string[] } = {}): Promise<GoldensResult> {
  const query = new URLSearchParams(location.search);
  const backend = (query.get('backend') ?? 'webgpu') as BackendChoice;
  const threads = query.has('threads') ? Number(query.get('threads')) : undefined;
  const gpu = backend === 'webgpu' ? await Gpu.create() : null;
  const results: Record<string, FixtureResult> = {};
  for (const name of args.only ?? Object.keys(GOLDEN_CHECKS)) {
    const t0 = performance.now();
    const engines: EngineSummary[] = [];
    const json: unknown = await (await fetch(new URL(`/test/fixtures/goldens/${name}.json`, location.href))).json();
    const report = await runGoldenCheck(name, json, async (model, options) => {
      const engine = await createEngine({ model: new URL(`/models/${model}`, location.href).href, backend, threads, device: gpu?.device, dtype: 'f32', ...options });
      const { info } = engine;
      engines.push({ backend: info.backend.name, threads: info.backend.threads, simd: info.backend.simd, dtype: info.dtype.name, adapter: info.adapter.description || `${info.adapter.vendor} ${info.adapter.architecture}`, adapterSource: info.adapter.source });
      return engine;
    });
    results[name] = { ...report.toJSON(), ms: Math.round(performance.now() - t0), engines };
    console.log(`goldens ${name} [${backend}${threads ? `, ${threads} threads` : ''}]: ${results[name].ms} ms${report.passed ? '' : ' FAILED'}`);
  }
  const adapter = gpu?.adapter ?? null;
  gpu?.destroy();
  return { isolated: crossOriginIsolated, adapter, results };
}
