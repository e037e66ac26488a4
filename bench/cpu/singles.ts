// One merged batch of N texts against the same N texts sent one at a time, interleaved, in wall
// and CPU time (all threads, process.cpuUsage; MERGED_ONLY=1 skips the singles): on a loaded machine wall/CPU shows how much of a
// long batch the OS scheduler gives to other processes, which a run of short calls escapes.
//
//   node bench/build.mjs bench/cpu/singles.ts && node .bench/cpu/singles.mjs [MODEL_DIR] [THREADS] [N] [ROUNDS]

import { resolve } from 'node:path';
import { createEngine } from '../../src/engine';
import { prepare } from '../e2e/bench';
import { mixedTexts } from '../e2e/texts';
import { resolveSource } from '../../src/loading/source';

const [dirArg, threadsArg, nArg, roundsArg] = process.argv.slice(2);
const dir = resolve(dirArg ?? '.bench/models/perf-minilm-l6');
const threads = Number(threadsArg ?? 2);
const n = Number(nArg ?? 64);
const rounds = Number(roundsArg ?? 2);

const p = await prepare(await resolveSource(dir));
const count = (t: string) => Math.min(p.tokenizer.encode(t).ids.length, p.maxLength);
const texts = mixedTexts(count, n);
const tokens = texts.reduce((a, t) => a + count(t), 0);
const engine = await createEngine({ model: dir, backend: 'cpu', threads });
await engine.embed(texts.slice(0, 8));

async function timed(f: () => Promise<unknown>): Promise<[number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
}
const line = (what: string, [wall, cpu]: [number, number]) =>
  console.log(`${what.padEnd(10)} wall ${wall.toFixed(0).padStart(6)} ms (${(wall / tokens * 1000).toFixed(0).padStart(5)} µs/token)  CPU ${cpu.toFixed(0).padStart(6)} ms (${(cpu / tokens * 1000).toFixed(0).padStart(5)} µs/token)  wall/CPU ${(wall / cpu).toFixed(2)}`);

console.log(`${n} texts, ${tokens} tokens, ${threads} threads`);
for (let r = 0; r < rounds; r++) {
  line('merged', await timed(() => engine.embed(texts)));
  if (process.env.MERGED_ONLY) continue;
  line('singles', await timed(async () => { for (const t of texts) await engine.embed([t]); }));
}
await engine.dispose();
process.exit(0);
