// A lost GPU device (here device.destroy() by someone else while requests are pending): every
// pending request rejects with GpuLostError, and the engine reloads itself on a new device, so the
// next request works and still matches the float64 goldens. On a caller's device it cannot
// recover, and says so.
import { describe, expect, it } from 'vitest';
import { GpuLostError, createEngine } from '../../src/index';
import { countingDevice } from '../helpers/counting_device';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

const NAME = 'tiny-bert-embed';

describe('device.lost', () => {
  it('pending requests reject with GpuLostError; the engine recovers and matches the goldens', async () => {
    const golden = loadGoldenOf(NAME, 'embed');
    const texts = golden.cases.map((c) => c.text);
    const engine = await createEngine({ model: fixtureDir(NAME) });
    try {
      const before = engine.gpu;
      const pending = [engine.embed(texts), engine.embed('one more'), engine.embed(['a', 'b'])];
      before.device.destroy();
      const settled = await Promise.allSettled(pending);
      for (const s of settled) {
        expect(s.status).toBe('rejected');
        const e = (s as PromiseRejectedResult).reason;
        expect(e).toBeInstanceOf(GpuLostError);
        expect(e).toMatchObject({ status: 503, recoverable: true, reason: 'destroyed' });
        expect(e.message).toMatch(/GPU device was lost/);
      }
      const r = await engine.embed(texts);
      expect(engine.gpu).not.toBe(before);
      golden.cases.forEach((c, i) => expect(maxAbsDiff(r.embeddings[i], c.embedding)).toBeLessThan(1e-5));
      expect(engine.liveBuffers().buffers).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
    expect(engine.liveBuffers()).toEqual({ buffers: 0, bytes: 0 });
  });

  it("on the caller's device it cannot recover, and every request says so", async () => {
    const cd = await countingDevice();
    const engine = await createEngine({ model: fixtureDir(NAME), device: cd.device });
    try {
      const pending = engine.embed('hello');
      cd.real.destroy();
      await expect(pending).rejects.toMatchObject({ name: 'GpuLostError', recoverable: false });
      const next = await engine.embed('again').then(() => null, (e: Error) => e);
      expect(next).toBeInstanceOf(GpuLostError);
      expect(next!.message).toMatch(/caller's device/);
    } finally {
      await engine.dispose();
    }
  });
});
