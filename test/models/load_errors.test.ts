// Corrupt or unsupported model folders fail createEngine with an error that names the problem, and
// nothing else breaks: an engine loaded before keeps serving.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, ModelLoadError, NotFoundError } from '../../src/index';
import { fixtureDir } from '../helpers/fixtures';

const tmp = mkdtempSync(join(tmpdir(), 'wgpool-corrupt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of tiny-bert-embed with one file changed. */
function corrupt(name: string, edit: (dir: string) => void): string {
  const dir = join(tmp, name);
  cpSync(fixtureDir('tiny-bert-embed'), dir, { recursive: true });
  edit(dir);
  return dir;
}

function header(dir: string): { len: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; bytes: Buffer } {
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const len = Number(bytes.readBigUInt64LE(0));
  return { len, json: JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')), bytes };
}

/** Rewrite the safetensors header (same data section). */
function rewriteHeader(dir: string, edit: (json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void): void {
  const { len, json, bytes } = header(dir);
  edit(json);
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const pad = (8 - (text.length % 8)) % 8;
  const h = Buffer.concat([text, Buffer.alloc(pad, 0x20)]);
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([lenBuf, h, bytes.subarray(8 + len)]));
}

describe('corrupt model folders get clear errors', () => {
  const cases: [string, () => string, RegExp][] = [
    [
      'truncated safetensors',
      () => corrupt('truncated', (d) => writeFileSync(join(d, 'model.safetensors'), readFileSync(join(d, 'model.safetensors')).subarray(0, 100_000))),
      /model\.safetensors.*(past the end|truncated|beyond|outside)/i,
    ],
    [
      'header offsets past the end',
      () =>
        corrupt('offsets', (d) =>
          rewriteHeader(d, (j) => {
            const t = j['embeddings.word_embeddings.weight'];
            t.data_offsets = [t.data_offsets[0], t.data_offsets[1] + 10_000_000];
          }),
        ),
      /embeddings\.word_embeddings\.weight/,
    ],
    [
      'unknown dtype',
      () => corrupt('dtype', (d) => rewriteHeader(d, (j) => void (j['embeddings.LayerNorm.bias'].dtype = 'Q4_K'))),
      /embeddings\.LayerNorm\.bias.*Q4_K|Q4_K.*embeddings\.LayerNorm\.bias/,
    ],
    [
      'a missing tensor',
      () => corrupt('missing', (d) => rewriteHeader(d, (j) => void delete j['encoder.layer.1.output.dense.weight'])),
      /encoder\.layer\.1\.output\.dense\.weight/,
    ],
    [
      'a tensor of the wrong shape',
      () =>
        corrupt('shape', (d) => {
          const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
          cfg.intermediate_size = 96;
          writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
        }),
      /encoder\.layer\.0\.intermediate\.dense\.weight.*shape/,
    ],
    [
      'an unknown architecture',
      () =>
        corrupt('arch', (d) => {
          const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
          cfg.architectures = ['GPT2LMHeadModel'];
          cfg.model_type = 'gpt2';
          writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
        }),
      /gpt2|GPT2LMHeadModel/,
    ],
    ['malformed config.json', () => corrupt('config', (d) => writeFileSync(join(d, 'config.json'), '{"architectures": ["BertModel"], ')), /config\.json.*JSON/i],
  ];

  for (const [what, make, message] of cases) {
    it(what, async () => {
      const err = await createEngine({ model: make() }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(Error);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('a folder without weights is a NotFoundError naming the files', async () => {
    const dir = corrupt('noweights', (d) => rmSync(join(d, 'model.safetensors')));
    await expect(createEngine({ model: dir })).rejects.toBeInstanceOf(NotFoundError);
    await expect(createEngine({ model: dir })).rejects.toThrow(/model\.safetensors/);
  });

  it('a tokenizer that outgrows config.json: the request is refused before batching, others still run', async () => {
    const dir = corrupt('vocab', (d) => {
      const tok = JSON.parse(readFileSync(join(d, 'tokenizer.json'), 'utf8'));
      tok.added_tokens.push({ id: 5000, content: '[BIG]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(tok));
    });
    const engine = await createEngine({ model: dir });
    try {
      const [bad, good] = await Promise.allSettled([engine.embed('hello [BIG]'), engine.embed('hello')]);
      expect(bad.status).toBe('rejected');
      expect((bad as PromiseRejectedResult).reason.message).toMatch(/tokenizer and config\.json disagree: token id 5000 at index \d+ is outside \[0, 3499\)/);
      expect((bad as PromiseRejectedResult).reason.status).toBe(500);
      expect(good.status).toBe('fulfilled');
    } finally {
      await engine.dispose();
    }
  });

  it('a loaded engine keeps serving while bad models fail to load', async () => {
    const good = await createEngine({ model: fixtureDir('tiny-bert-embed') });
    try {
      const before = await good.embed('still here');
      await expect(createEngine({ model: cases[0][1]() })).rejects.toBeInstanceOf(ModelLoadError);
      const after = await good.embed('still here');
      expect(Array.from(after.embeddings[0])).toEqual(Array.from(before.embeddings[0]));
    } finally {
      await good.dispose();
    }
  });
});
