import { describe, expect, it } from 'vitest';
import { chooseMatmulVariant, clearTuneMemory, encoderMatmulShapes, jsonTuneStore, type MatmulChoice, type TuneStore } from './autotune';
import { MATMUL_VARIANTS } from '../kernels/matmul';
import { createEngine } from '../index';
import { testGpu } from '../../test/helpers/gpu';
import { fixtureDir } from '../../test/helpers/fixtures';

describe('matmul autotune', async () => {
  const gpu = await testGpu();
  // Small but not trivial: the trial times real dispatches of every candidate.
  const shapes = encoderMatmulShapes(64, 96, 32);

  it('times every candidate and picks the fastest', async () => {
    clearTuneMemory();
    const c = await chooseMatmulVariant(gpu, shapes, { rounds: 2 });
    expect(c.source).toBe('measured');
    expect(c.trials.map((t) => t.variant)).toEqual([...MATMUL_VARIANTS]);
    const fastest = c.trials.reduce((a, b) => (b.ms < a.ms ? b : a));
    expect(c.variant).toBe(fastest.variant);
    expect(fastest.ms).toBeGreaterThan(0);
    expect(fastest.gflops).toBeGreaterThan(0);
    expect(c.costMs).toBeGreaterThanOrEqual(fastest.ms);
    expect(c.key).toContain('32x96x64');
  });

  it('remembers the choice per adapter + shape, and the option overrides it', async () => {
    clearTuneMemory();
    const first = await chooseMatmulVariant(gpu, shapes, { rounds: 1 });
    const again = await chooseMatmulVariant(gpu, shapes);
    expect(again.source).toBe('remembered');
    expect(again.variant).toBe(first.variant);
    const other = await chooseMatmulVariant(gpu, encoderMatmulShapes(32, 40, 16), { candidates: ['naive'] });
    expect(other.source).toBe('measured');
    expect(other.key).not.toBe(first.key);
    const forced = await chooseMatmulVariant(gpu, shapes, { variant: 'naive' });
    expect(forced).toMatchObject({ variant: 'naive', source: 'option', trials: [] });
  });

  it("software adapters take the rule unless asked to measure ('hardware')", async () => {
    clearTuneMemory();
    const c = await chooseMatmulVariant(gpu, shapes, { measure: 'hardware' });
    if (gpu.adapter.isSoftware) expect(c).toMatchObject({ variant: 'regblock', source: 'rule', trials: [] });
    else expect(c.source).toBe('measured');
  });

  it('persists through a JSON store and reads it back in a fresh process memory', async () => {
    clearTuneMemory();
    let text: string | undefined;
    const store = jsonTuneStore({ read: () => text, write: (t) => void (text = t) });
    const measured = await chooseMatmulVariant(gpu, shapes, { store, candidates: ['regblock', 'naive'], rounds: 1 });
    const saved = JSON.parse(text!) as Record<string, MatmulChoice>;
    expect(saved[measured.key].variant).toBe(measured.variant);
    clearTuneMemory();
    const back = await chooseMatmulVariant(gpu, shapes, { store });
    expect(back).toMatchObject({ variant: measured.variant, source: 'remembered' });
    // A corrupt store is no store: the trial runs again.
    clearTuneMemory();
    text = '{not json';
    expect((await chooseMatmulVariant(gpu, shapes, { store, candidates: ['naive'], rounds: 1 })).source).toBe('measured');
  });

  it('the engine reports its choice in info.matmul and honours matmulVariant', async () => {
    clearTuneMemory();
    const saved: Record<string, MatmulChoice> = {};
    const store: TuneStore = { get: (k) => saved[k], set: (k, c) => void (saved[k] = c) };
    const engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), tuneStore: store, matmulTune: 'always' });
    try {
      expect(engine.info.matmul.source).toBe('measured');
      expect(MATMUL_VARIANTS).toContain(engine.info.matmul.variant);
      expect(Object.keys(saved)).toEqual([engine.info.matmul.key]);
      const { embeddings } = await engine.embed(['hello world']);
      expect(embeddings[0].length).toBe(engine.info.embeddingSize);
    } finally {
      await engine.dispose();
    }
    const forced = await createEngine({ model: fixtureDir('tiny-bert-embed'), matmulVariant: 'naive' });
    try {
      expect(forced.info.matmul).toMatchObject({ variant: 'naive', source: 'option' });
    } finally {
      await forced.dispose();
    }
  });
});
