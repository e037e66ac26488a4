// Decoder checkpoints in the layout real hub repositories use: gte-Qwen2 names Qwen2ForCausalLM, with
// `model.`-prefixed keys and an lm_head the pooling model never reads. Same weights as tiny-qwen2-embed
// otherwise, so the same goldens hold.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

const tmp = mkdtempSync(join(tmpdir(), 'wgpool-decoders-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tiny-qwen2-embed as Qwen2ForCausalLM: every key under `model.`, plus lm_head.weight (a copy of embed_tokens). */
function asCausalLm(): string {
  const dir = join(tmp, 'qwen2-causal-lm');
  cpSync(fixtureDir('tiny-qwen2-embed'), dir, { recursive: true });
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const len = Number(bytes.readBigUInt64LE(0));
  const old = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')) as Header & { __metadata__?: unknown };
  const data = bytes.subarray(8 + len);
  const header: Record<string, unknown> = { __metadata__: old.__metadata__ };
  for (const [k, v] of Object.entries(old)) if (k !== '__metadata__') header[`model.${k}`] = v;
  const emb = old['embed_tokens.weight'];
  header['lm_head.weight'] = { ...emb, data_offsets: [data.length, data.length + emb.data_offsets[1] - emb.data_offsets[0]] };
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const h = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([lenBuf, h, data, data.subarray(emb.data_offsets[0], emb.data_offsets[1])]));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['Qwen2ForCausalLM'] }));
  return dir;
}

describe('Qwen2ForCausalLM with model.-prefixed keys and an unused lm_head (gte-Qwen2 layout)', () => {
  const golden = loadGoldenOf('tiny-qwen2-embed', 'embed');
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ model: asCausalLm() });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('loads as the base model and matches the tiny-qwen2-embed goldens', async () => {
    expect(engine.info.architecture).toBe('Qwen2ForCausalLM');
    expect(engine.info.tasks).toEqual(['embed', 'token_embed', 'score']);
    const res = await engine.embed(golden.cases.map((c) => c.text));
    golden.cases.forEach((c, i) => expect(maxAbsDiff(res.embeddings[i], c.embedding), c.text).toBeLessThan(1e-5));
  });
});
