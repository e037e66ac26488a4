// Decoder checkpoints in layouts the oracle fixtures do not cover directly, checked against the same
// goldens: gte-Qwen2's Qwen2ForCausalLM (`model.`-prefixed keys, an lm_head the pooling model never
// reads), and Llama with attention_bias / mlp_bias, where a v_proj bias is cancelled exactly by an
// o_proj bias (softmax weights sum to 1, so a v bias adds b_v to every context row, and o_proj maps
// it to W_o·b_v), so the golden logits still hold only if both biases are applied where they belong.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index';
import { fixtureDir, type FixtureName } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff, randomF32 } from '../helpers/random';

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

const tmp = mkdtempSync(join(tmpdir(), 'wgpool-decoders-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A copy of a fixture with its safetensors rewritten: `rename` maps each stored key, `add` appends F32
 * tensors (given the stored F32 tensors by name); `config` edits config.json.
 */
function variant(
  fixture: FixtureName,
  name: string,
  edit: { rename?: (key: string) => string; add?: (read: (key: string) => Float32Array) => Record<string, { shape: number[]; data: Float32Array }>; config?: Record<string, unknown> },
): string {
  const dir = join(tmp, name);
  cpSync(fixtureDir(fixture), dir, { recursive: true });
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const len = Number(bytes.readBigUInt64LE(0));
  const old = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')) as Record<string, Entry>;
  const data = bytes.subarray(8 + len);
  const read = (key: string) => {
    const [a, b] = old[key].data_offsets;
    return new Float32Array(data.buffer.slice(data.byteOffset + a, data.byteOffset + b));
  };
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(old)) header[k === '__metadata__' ? k : (edit.rename ?? ((x: string) => x))(k)] = v;
  const extra: Buffer[] = [];
  let end = data.length;
  for (const [k, t] of Object.entries(edit.add?.(read) ?? {})) {
    header[k] = { dtype: 'F32', shape: t.shape, data_offsets: [end, end + t.data.byteLength] };
    extra.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    end += t.data.byteLength;
  }
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const h = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([lenBuf, h, data, ...extra]));
  if (edit.config) {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...edit.config }));
  }
  return dir;
}

describe('Qwen2ForCausalLM with model.-prefixed keys and an unused lm_head (gte-Qwen2 layout)', () => {
  it('loads as the base model and matches the tiny-qwen2-embed goldens', async () => {
    const golden = loadGoldenOf('tiny-qwen2-embed', 'embed');
    const dir = variant('tiny-qwen2-embed', 'qwen2-causal-lm', {
      rename: (k) => `model.${k}`,
      add: (read) => ({ 'lm_head.weight': { shape: [1959, 64], data: read('embed_tokens.weight') } }),
      config: { architectures: ['Qwen2ForCausalLM'] },
    });
    const engine = await createEngine({ model: dir });
    try {
      expect(engine.info.architecture).toBe('Qwen2ForCausalLM');
      expect(engine.info.tasks).toEqual(['embed', 'token_embed', 'score']);
      const res = await engine.embed(golden.cases.map((c) => c.text));
      golden.cases.forEach((c, i) => expect(maxAbsDiff(res.embeddings[i], c.embedding), c.text).toBeLessThan(1e-5));
    } finally {
      await engine.dispose();
    }
  });
});

describe('Llama attention_bias and mlp_bias', () => {
  const golden = loadGoldenOf('tiny-llama-seqcls', 'seqcls');
  // tiny-llama-seqcls: hidden 64, 4 heads of 32 over 2 KV heads, intermediate 128, 2 layers.
  const H = 64, nH = 4, nKV = 2, hd = 32, I = 128;

  /** Per layer: q/k zero biases, a random v bias, and the o_proj bias −W_o·b_v that cancels it; zero MLP biases. */
  function biased(cancel: boolean): string {
    return variant('tiny-llama-seqcls', cancel ? 'llama-bias' : 'llama-bias-uncancelled', {
      config: { attention_bias: true, mlp_bias: true },
      add: (read) => {
        const out: Record<string, { shape: number[]; data: Float32Array }> = {};
        for (let l = 0; l < 2; l++) {
          const a = `model.layers.${l}.self_attn.`;
          const m = `model.layers.${l}.mlp.`;
          const bv = randomF32(nKV * hd, 100 + l);
          const wo = read(`${a}o_proj.weight`); // [H, nH·hd]
          const bo = new Float32Array(H);
          for (let r = 0; r < H; r++) {
            let s = 0;
            for (let h = 0; h < nH; h++) for (let d = 0; d < hd; d++) s += wo[r * nH * hd + h * hd + d] * bv[Math.floor(h / (nH / nKV)) * hd + d];
            bo[r] = cancel ? -s : 0;
          }
          Object.assign(out, {
            [`${a}q_proj.bias`]: { shape: [nH * hd], data: new Float32Array(nH * hd) },
            [`${a}k_proj.bias`]: { shape: [nKV * hd], data: new Float32Array(nKV * hd) },
            [`${a}v_proj.bias`]: { shape: [nKV * hd], data: bv },
            [`${a}o_proj.bias`]: { shape: [H], data: bo },
            [`${m}gate_proj.bias`]: { shape: [I], data: new Float32Array(I) },
            [`${m}up_proj.bias`]: { shape: [I], data: new Float32Array(I) },
            [`${m}down_proj.bias`]: { shape: [H], data: new Float32Array(H) },
          });
        }
        return out;
      },
    });
  }

  it('a v_proj bias cancelled by its o_proj bias gives the golden logits; uncancelled it does not', async () => {
    const texts = golden.cases.map((c) => c.text);
    for (const cancel of [true, false]) {
      const engine = await createEngine({ model: biased(cancel) });
      try {
        const res = await engine.classify(texts, { useActivation: false });
        const err = Math.max(...golden.cases.map((c, i) => maxAbsDiff(res.data[i].probs, c.logits)));
        if (cancel) expect(err).toBeLessThan(1e-4);
        else expect(err).toBeGreaterThan(1e-3);
      } finally {
        await engine.dispose();
      }
    }
  });
});
