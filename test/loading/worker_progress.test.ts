// The Web Worker engine forwards the load's progress stream unchanged. The host and client talk
// over a real MessageChannel here (structured clone included), the same messages a Worker carries.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { LoadProgress } from '../../src/loading/progress';
import { createWorkerEngine } from '../../src/worker/client';
import { startWorkerHost } from '../../src/worker/host';
import { fixtureDir } from '../helpers/fixtures';

describe('worker engine', () => {
  it('forwards every progress event of the load, ending with ready at exactly 1', async () => {
    const { port1, port2 } = new MessageChannel();
    const asPort = (p: typeof port1) => ({
      postMessage: (m: unknown, t?: Transferable[]) => p.postMessage(m, t as never),
      addEventListener: (_: 'message', l: (e: MessageEvent) => void) => p.on('message', (data) => l({ data } as MessageEvent)),
    });
    startWorkerHost(asPort(port1));
    const client = asPort(port2);
    const worker = { ...client, terminate: () => (port1.close(), port2.close()) } as unknown as Worker;
    const events: LoadProgress[] = [];
    const engine = await createWorkerEngine(worker, { model: fixtureDir('tiny-bert-embed'), onProgress: (e) => events.push(e) });
    try {
      expect(events.length).toBeGreaterThan(3);
      expect(events[events.length - 1]).toMatchObject({ phase: 'ready', progress: 1 });
      expect(events.some((e) => e.phase === 'download' && e.item === 'model.safetensors')).toBe(true);
      expect((await engine.embed('hi')).embeddings).toHaveLength(1);
    } finally {
      await engine.dispose();
    }
  });
});
