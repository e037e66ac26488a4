// Every model body frees what it made: after a forward pass (so the activation plan exists) and
// dispose(), the GPU context holds exactly the buffers it held before the load. The context would
// also free uploaded weights when it is destroyed, so this is checked on a context that stays up:
// each body's dispose must destroy every weight itself (the shared encoder and decoder bodies find
// them in their weight structures, ModernBERT its shared zero bias once).
import { afterAll, describe, expect, it } from 'vitest';
import { Gpu } from '../../src/gpu/context';
import { WeightStore } from '../../src/loading/safetensors';
import { resolveSource } from '../../src/loading/source';
import { loadModelConfig } from '../../src/models/config';
import { packBatch } from '../../src/models/packing';
import { loadModelBody } from '../../src/models/registry';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';

/**
 * One fixture per body and its switches: post-norm encoders (dense and gated MLPs, RoPE, MPNet's
 * relative bias, token types on and off), ModernBERT, the decoders (Qwen3's q/k norms, Mistral's
 * window, Gemma's sandwich norms and scaled embedding).
 */
const BODIES: FixtureName[] = [
  'tiny-bert-embed',
  'tiny-mpnet-embed',
  'tiny-distilbert-embed',
  'tiny-nomic-embed',
  'tiny-gtenew-embed',
  'tiny-modernbert-embed',
  'tiny-qwen3-embed',
  'tiny-mistral-embed',
  'tiny-gemma3-embed',
];

const gpuPromise = Gpu.create();
afterAll(async () => (await gpuPromise).destroy());

describe('dispose frees every model body', () => {
  for (const name of BODIES) {
    it(`${name}: the context holds what it held before, after a forward pass and dispose`, async () => {
      const gpu = await gpuPromise;
      const source = await resolveSource(fixtureDir(name), { cache: false });
      const config = await loadModelConfig(source);
      const weights = await WeightStore.load(source);
      gpu.pool.trim();
      const before = gpu.liveBuffers().buffers;

      const body = await loadModelBody(gpu, config, weights);
      const forward = body.prepare(packBatch([{ ids: [1, 2, 3] }, { ids: [4, 5] }]));
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      forward.encode(pass);
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
      expect(gpu.liveBuffers().buffers).toBeGreaterThan(before);

      body.dispose();
      gpu.pool.trim();
      expect(gpu.liveBuffers().buffers).toBe(before);
    });
  }
});
