// How the CPU backend's cost grows with the batch: one embed() call of 1, 8, 16, 32, 64 mixed-length
// texts (the e2e bench's 8–39-token draw), time per text and per packed token, and where the time
// goes (CpuPass.profile: milliseconds per step label, layers folded). CPU time (all threads, from
// process.cpuUsage) is the number to trust on a loaded machine; wall time includes preemption. A batch that costs more per
// token than a single text is the superlinear part to hunt. Node + WebAssembly only.
//
//   node bench/build.mjs bench/cpu/scaling.ts && node .bench/cpu/scaling.mjs [MODEL_DIR] [THREADS] [SIZES]
//
// MODEL_DIR defaults to .bench/models/perf-minilm-l6, THREADS to 2, SIZES to 1,8,16,32,64.

import { resolve } from 'node:path';
import { createEngine } from '../../src/engine';
import { CpuPass } from '../../src/cpu/step';
import { prepare } from '../e2e/bench';
import { mixedTexts } from '../e2e/texts';
import { resolveSource } from '../../src/loading/source';

const [dirArg, threadsArg, sizesArg] = process.argv.slice(2);
const dir = resolve(dirArg ?? '.bench/models/perf-minilm-l6');
const threads = Number(threadsArg ?? 2);
const sizes = (sizesArg ?? '1,8,16,32,64').split(',').map(Number);
const reps = Number(process.env.REPS ?? 3);
// PROFILE=cpu: steps timed in CPU time (process.cpuUsage; meaningful with 1 thread only).
if (process.env.PROFILE === 'cpu') CpuPass.clock = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };

const p = await prepare(await resolveSource(dir));
const count = (t: string) => Math.min(p.tokenizer.encode(t).ids.length, p.maxLength);
const texts = mixedTexts(count, Math.max(...sizes));
const engine = await createEngine({ model: dir, backend: 'cpu', threads });
console.log(`${dir}: ${JSON.stringify(engine.info.backend)}, ${threads} threads, best of ${reps}`);
await engine.embed(texts.slice(0, 8)); // warm: weight packing, buffers

const ms = (x: number) => x.toFixed(1).padStart(8);
for (const n of sizes) {
  const batch = texts.slice(0, n);
  const tokens = batch.reduce((a, t) => a + count(t), 0);
  let best = Infinity;
  let bestCpu = Infinity;
  let bestProfile = new Map<string, number>();
  for (let r = 0; r < reps; r++) {
    const profile = new Map<string, number>();
    CpuPass.profile = profile;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await engine.embed(batch);
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    CpuPass.profile = null;
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    if (t < best) [best, bestProfile] = [t, profile];
  }
  const steps = [...bestProfile.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${String(n).padStart(3)} texts ${String(tokens).padStart(5)} tokens: ${ms(best)} ms  ${ms(best / n)} ms/text  ${(best / tokens * 1000).toFixed(0).padStart(6)} µs/token wall; CPU ${ms(bestCpu)} ms ${(bestCpu / tokens * 1000).toFixed(0).padStart(6)} µs/token  (steps ${steps.toFixed(1)} ms, host ${(best - steps).toFixed(1)} ms)`);
  const top = [...bestProfile.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  for (const [label, t] of top) console.log(`    ${label.padEnd(48)} ${ms(t)} ms  ${(t / tokens * 1000).toFixed(1).padStart(7)} µs/token`);
}
await engine.dispose();
process.exit(0);
