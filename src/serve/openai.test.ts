// The official OpenAI client against `serve()` with the deterministic engine: proof that the wire
// shapes are the ones real clients parse. `openai` is a devDependency; without it this file fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { FakeEngine } from './fake_engine';
import { serve, type RunningServer } from './node';
import type { EngineApi } from '../router/types';

function decodeBase64(s: string): number[] {
  const bytes = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  return Array.from(new Float32Array(bytes.buffer));
}

describe('openai client → wgpool serve', () => {
  const fake = new FakeEngine({ model: 'org/fake' });
  const mrl = new FakeEngine({ model: 'org/mrl', isMatryoshka: true, hiddenSize: 16 });
  let server: RunningServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await serve({
      engines: new Map<string, EngineApi>([
        ['fake', fake],
        ['mrl', mrl],
      ]),
      port: 0,
    });
    client = new OpenAI({ apiKey: 'not-checked', baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => server.close());

  const want = (e: FakeEngine, text: string, dims: number) => Array.from(e.vector(e.ids(text), dims, true));

  it('embeddings.create with the client default (it asks for base64 and decodes it)', async () => {
    const r = await client.embeddings.create({ model: 'fake', input: ['hello world', 'second text'] });
    expect(r.object).toBe('list');
    expect(r.model).toBe('fake');
    expect(r.data.map((d) => d.index)).toStrictEqual([0, 1]);
    expect(r.data[0].object).toBe('embedding');
    expect(r.data[0].embedding).toStrictEqual(want(fake, 'hello world', 8));
    expect(r.data[1].embedding).toStrictEqual(want(fake, 'second text', 8));
    const tokens = fake.ids('hello world').length + fake.ids('second text').length;
    expect(r.usage).toMatchObject({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("embeddings.create with encoding_format 'float'", async () => {
    const r = await client.embeddings.create({ model: 'fake', input: 'plain floats', encoding_format: 'float' });
    expect(r.data[0].embedding).toStrictEqual(want(fake, 'plain floats', 8));
  });

  it("embeddings.create with encoding_format 'base64' returns the string as sent", async () => {
    const r = await client.embeddings.create({ model: 'fake', input: 'raw base64', encoding_format: 'base64' });
    const e = r.data[0].embedding as unknown;
    expect(typeof e).toBe('string');
    expect(decodeBase64(e as string)).toStrictEqual(want(fake, 'raw base64', 8));
  });

  it('embeddings.create with dimensions (matryoshka), float and base64', async () => {
    const f = await client.embeddings.create({ model: 'mrl', input: 'shorter', dimensions: 5, encoding_format: 'float' });
    expect(f.data[0].embedding).toStrictEqual(want(mrl, 'shorter', 5));
    const b = await client.embeddings.create({ model: 'mrl', input: 'shorter', dimensions: 5 });
    expect(b.data[0].embedding).toStrictEqual(want(mrl, 'shorter', 5));
    expect(Math.hypot(...b.data[0].embedding)).toBeCloseTo(1, 6);
  });

  it('surfaces errors as the client error classes with status, message, type, param and code', async () => {
    const dims = await client.embeddings.create({ model: 'fake', input: 'x', dimensions: 4 }).catch((e: unknown) => e);
    expect(dims).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = dims as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.message).toBe('400 Model "org/fake" does not support matryoshka representation, changing output dimensions will lead to poor results.');
    expect(bad.type).toBe('BadRequestError');
    expect(bad.code).toBe(400);
    expect(bad.requestID).toMatch(/^[0-9a-f]{32}$/);

    const missing = await client.embeddings.create({ model: 'nope', input: 'x' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const notFound = missing as InstanceType<typeof OpenAI.NotFoundError>;
    expect(notFound.message).toBe('404 The model `nope` does not exist.');
    expect(notFound.param).toBe('model');
  });

  it('models.list', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toStrictEqual(['fake', 'mrl']);
  });
});
