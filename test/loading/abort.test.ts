// Abort in every phase of a load (download, parse, upload, compile), directly and through the Web
// Worker engine: the load rejects with an AbortError and nothing it made stays allocated on the GPU.
// The device is the caller's (a counting test double), so nothing is freed by destroying the device:
// every buffer must have been destroyed one by one.
import { MessageChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine';
import type { LoadPhase, LoadProgress } from '../../src/loading/progress';
import { createWorkerEngine } from '../../src/worker/client';
import { startWorkerHost } from '../../src/worker/host';
import { countingDevice, type CountingDevice } from '../helpers/counting_device';
import { fixtureDir } from '../helpers/fixtures';

const MODEL = fixtureDir('tiny-bert-embed');
let cd: CountingDevice;
/** Compile events of a whole load: the compile-phase abort comes at the last one (after the body's buffers exist). */
let compiles = 0;

beforeAll(async () => {
  cd = await countingDevice();
  const engine = await createEngine({ model: MODEL, device: cd.device, onProgress: (p) => void (p.phase === 'compile' && compiles++) });
  await engine.dispose();
});
afterAll(() => cd.real.destroy());

/** An onProgress that aborts `ctl` at the `nth` event of `phase` (default the first), and the phases seen. */
function abortAt(phase: LoadPhase, ctl: AbortController, nth = 1): { onProgress: (p: LoadProgress) => void; seen: Set<LoadPhase> } {
  const seen = new Set<LoadPhase>();
  let n = 0;
  return {
    seen,
    onProgress: (p) => {
      seen.add(p.phase);
      if (p.phase === phase && ++n === nth && !ctl.signal.aborted) ctl.abort();
    },
  };
}

describe('abort during a load', () => {
  for (const phase of ['download', 'parse', 'upload', 'compile'] as const) {
    it(`in the ${phase} phase: AbortError, no GPU buffer left`, async () => {
      const ctl = new AbortController();
      const { onProgress, seen } = abortAt(phase, ctl, phase === 'compile' ? compiles : 1);
      const err = await createEngine({ model: MODEL, device: cd.device, signal: ctl.signal, onProgress }).then(
        () => null,
        (e: Error) => e,
      );
      expect(seen.has(phase)).toBe(true);
      expect(seen.has('ready')).toBe(false);
      expect(err?.name).toBe('AbortError');
      expect(cd.liveLabels()).toEqual([]);
    });
  }

  it('a load that completes is still fine on the same device, and dispose frees all of it', async () => {
    const engine = await createEngine({ model: MODEL, device: cd.device });
    expect(cd.live()).toBeGreaterThan(0);
    expect(engine.liveBuffers().buffers).toBe(cd.live());
    expect((await engine.embed('hello')).embeddings[0]).toHaveLength(engine.info.embeddingSize);
    await engine.dispose();
    expect(cd.liveLabels()).toEqual([]);
  });
});

describe('abort through the Worker engine', () => {
  it('the page-side signal aborts the load in the worker, in the upload phase; nothing stays allocated', async () => {
    const { port1, port2 } = new MessageChannel();
    const asPort = (p: typeof port1) => ({
      postMessage: (m: unknown, t?: Transferable[]) => p.postMessage(m, t as never),
      addEventListener: (_: 'message', l: (e: MessageEvent) => void) => p.on('message', (data) => l({ data } as MessageEvent)),
    });
    // The host loads on the counting device (a Worker would request its own).
    startWorkerHost(asPort(port1), {
      load: (options) => createEngine({ ...(options as { model: string }), device: cd.device }),
      release: (engine) => engine.dispose(),
    });
    const worker = { ...asPort(port2), terminate: () => (port1.close(), port2.close()) } as unknown as Worker;
    const ctl = new AbortController();
    const { onProgress, seen } = abortAt('upload', ctl);
    try {
      const err = await createWorkerEngine(worker, { model: MODEL, signal: ctl.signal, onProgress }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.name).toBe('AbortError');
      expect(seen.has('upload')).toBe(true);
      expect(cd.liveLabels()).toEqual([]);
      // The worker holds no engine: a second load there works.
      const engine = await createWorkerEngine(worker, { model: MODEL });
      expect((await engine.liveBuffers()).buffers).toBe(cd.live());
      await engine.dispose();
      expect(cd.liveLabels()).toEqual([]);
    } finally {
      port1.close();
      port2.close();
    }
  });
});
