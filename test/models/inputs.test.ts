// Request inputs on real engines: token ids give the text results (and are cut, not re-tokenized),
// add_special_tokens: false drops exactly the special tokens, chat rendering uses the fixture's
// template, hf_overrides reach config.json, max_tokens_per_query/doc cap each side, and the score
// type follows the served task.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index';
import { cosine } from '../../src/router/scoring';
import { fixtureDir } from '../helpers/fixtures';
import { loadGoldenOf } from '../helpers/goldens';
import { maxAbsDiff } from '../helpers/random';

const golden = loadGoldenOf('tiny-bert-embed', 'embed');
const CHAT = fileURLToPath(new URL('../fixtures/chat/tiny-qwen3-embed-chat', import.meta.url));

let engine: Engine;
let chat: Engine;
beforeAll(async () => {
  engine = await createEngine({ model: fixtureDir('tiny-bert-embed'), hfOverrides: { matryoshka_dimensions: [32] } });
  chat = await createEngine({ model: CHAT });
});
afterAll(async () => {
  await engine?.dispose();
  await chat?.dispose();
});

describe('token-id input', () => {
  it('equals the text result, in one batch with text inputs', async () => {
    const mixed = await engine.embed([{ ids: golden.cases[0].input_ids }, golden.cases[1].text, { ids: golden.cases[2].input_ids }]);
    [0, 1, 2].forEach((i) => expect(maxAbsDiff(mixed.embeddings[i], golden.cases[i].embedding)).toBeLessThan(1e-5));
    expect(mixed.usage.promptTokens).toBe(golden.cases.slice(0, 3).reduce((s, c) => s + c.input_ids.length, 0));
    const tok = await engine.encode({ ids: golden.cases[3].input_ids }, { task: 'token_embed', useActivation: false });
    expect(tok.data[0]).toHaveLength(golden.cases[3].input_ids.length);
    expect(maxAbsDiff(tok.data[0].flatMap((r) => Array.from(r)), golden.cases[3].last_hidden_state.flat())).toBeLessThan(1e-4);
  });

  it('is cut by truncate_prompt_tokens as a plain list (left keeps the last k), and checked against the vocabulary', async () => {
    const ids = golden.cases[7].input_ids;
    const left = await engine.embed({ ids }, { truncatePromptTokens: 5, truncationSide: 'left' });
    const same = await engine.embed({ ids: ids.slice(-5) });
    expect(Array.from(left.embeddings[0])).toStrictEqual(Array.from(same.embeddings[0]));
    expect(left.usage.promptTokens).toBe(5);
    const V = engine.config.vocab_size;
    await expect(engine.embed({ ids: [101, V] })).rejects.toThrow(`Token id ${V} is out of vocabulary (input[0][1]; the model has ids 0..${V - 1}).`);
  });
});

describe('add_special_tokens', () => {
  it('false tokenizes the text without [CLS]/[SEP]: the same as its ids with those two removed', async () => {
    const ids = golden.cases[4].input_ids;
    const bare = await engine.embed(golden.cases[4].text, { addSpecialTokens: false });
    const byIds = await engine.embed({ ids: ids.slice(1, -1) });
    expect(Array.from(bare.embeddings[0])).toStrictEqual(Array.from(byIds.embeddings[0]));
    expect(bare.usage.promptTokens).toBe(ids.length - 2);
  });
});

describe('engine options', () => {
  it('hfOverrides reach config.json before the model is built', async () => {
    await expect(engine.embed('x', { dimensions: 16 })).rejects.toThrow(/only supports \[32\] matryoshka dimensions/);
    const r = await engine.embed(golden.cases[3].text, { dimensions: 32 });
    expect(maxAbsDiff(r.embeddings[0], golden.cases[3].matryoshka['32'])).toBeLessThan(1e-5);
    expect(engine.info.matryoshkaDimensions).toStrictEqual([32]);
  });

  it('renders chats with the tokenizer_config template; an override replaces it', async () => {
    const msgs = [{ role: 'user', content: 'hello' }];
    expect(chat.renderChat(msgs, { addGenerationPrompt: true })).toBe('<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n');
    await expect(async () => engine.renderChat(msgs)).rejects.toThrow(/default chat template is no longer allowed/);
    const text = chat.renderChat(msgs);
    const a = await chat.embed(text, { addSpecialTokens: false });
    const b = await chat.embed({ ids: chat.tokenize(text, { addSpecialTokens: false }).tokens });
    expect(Array.from(a.embeddings[0])).toStrictEqual(Array.from(b.embeddings[0]));
  });

  it('the score type follows the served task; max_tokens_per_query/doc cap each side of a bi-encoder', async () => {
    expect(engine.info.scoreType).toBe('bi-encoder');
    const q = golden.cases[5].text;
    const d = golden.cases[6].text;
    const capped = await engine.score(q, d, { maxTokensPerDoc: 3, maxTokensPerQuery: 4 });
    const dIds = golden.cases[6].input_ids;
    const qIds = golden.cases[5].input_ids;
    const [eq, ed] = (await engine.embed([{ ids: [...qIds.slice(0, 5), qIds.at(-1)!] }, { ids: [...dIds.slice(0, 4), dIds.at(-1)!] }])).embeddings;
    expect(Math.abs(capped.scores[0] - cosine(eq, ed))).toBeLessThan(1e-6);
    expect(capped.usage.promptTokens).toBe(6 + 5);
  });
});
