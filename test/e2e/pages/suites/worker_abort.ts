// Aborting a load through the Web Worker engine in Chromium: the page's signal, fired at the first
// upload event, rejects the load with an AbortError; the worker is left without an engine, so a second
// load in the same worker works and serves.
import { createWorkerEngine } from '../../../../src/worker/index';
import type { LoadPhase } from '../../../../src/loading/progress';

export default async function run() {
  const worker = new Worker(new URL('../../../../src/worker/worker.ts', import.meta.url), { type: 'module' });
  const model = new URL('/models/tiny-bert-embed', location.href).href;
  const ctl = new AbortController();
  const phases: LoadPhase[] = [];
  const abortOutcome = await createWorkerEngine(worker, {
    model,
    signal: ctl.signal,
    onProgress: (p) => {
      if (!phases.includes(p.phase)) phases.push(p.phase);
      if (p.phase === 'upload') ctl.abort();
    },
  }).then(
    () => 'loaded',
    (e: Error) => e.name,
  );
  const engine = await createWorkerEngine(worker, { model });
  const dims = (await engine.embed('hello')).embeddings[0].length;
  const live = await engine.liveBuffers();
  await engine.dispose();
  return { abortOutcome, phases, dims, liveBuffers: live.buffers };
}
