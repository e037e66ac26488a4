// The routes that pool inputs one by one: /v1/embeddings, /classify, /pooling, and the tokenizer
// routes /tokenize and /detokenize. Field names, defaults and response shapes are vLLM's
// (vllm/entrypoints/pooling/{embed,classify,pooling}, serve/tokenize).
//
// Output transport (embeddings, pooling): `encoding_format` float | base64 | bytes | bytes_only,
// with `embed_dtype` and `endianness` applying to base64 and the byte forms. `bytes` answers
// application/octet-stream — the outputs back to back — with vLLM's `metadata` header (id,
// created, model, data: [{index, embed_dtype, endianness, start, end, shape}], usage);
// `bytes_only` is the same body without the header. binary / ubinary are wgpool's extension.

import type { PoolMode } from '../kernels/pool';
import { checkTaskParams } from '../router/params';
import type { EngineApi, Task, Usage } from '../router/types';
import { EMBED_DTYPES, ENDIANNESS, bytesBody, jsonOutput, packBits, type EmbedDType, type Endianness, type PoolingOutput } from './encoding';
import { commonOptions, readInputs, renderMessages } from './inputs';
import {
  badRequest,
  describe,
  field,
  json,
  now,
  optBool,
  optEnum,
  optInt,
  optString,
  parse,
  requireTask,
  usageInfo,
  type Body,
  type Call,
} from './request';
import { InternalError } from '../gpu/errors';

const POOL_MODES = ['cls', 'mean', 'max', 'last', 'mean_sqrt_len'] as const satisfies readonly PoolMode[];

interface Transport {
  format: 'float' | 'base64' | 'bytes' | 'bytes_only' | 'binary' | 'ubinary';
  dtype: EmbedDType;
  endianness: Endianness;
}

function transport(body: Body, formats: readonly Transport['format'][]): Transport {
  return {
    format: optEnum(body, 'encoding_format', formats) ?? 'float',
    dtype: optEnum(body, 'embed_dtype', EMBED_DTYPES) ?? 'float32',
    endianness: optEnum(body, 'endianness', ENDIANNESS) ?? 'native',
  };
}

/** The octet-stream answer of encoding_format bytes / bytes_only. */
function bytesResponse(call: Call, model: string, id: string, outputs: PoolingOutput[], usage: Usage, t: Transport): Response {
  const { body, items } = bytesBody(outputs, t.dtype, t.endianness);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (t.format === 'bytes') {
    headers.metadata = JSON.stringify({ id, created: now(), model, data: items, usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.totalTokens } });
  }
  return new Response(call.request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
}

/** POST /v1/embeddings — OpenAI EmbeddingRequest plus vLLM's extra fields. */
export async function embeddings(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'embed', 'Embeddings');
  const common = commonOptions(call, body);
  const { inputs, addSpecialTokens } = readInputs(body, engine);
  const t = transport(body, ['float', 'base64', 'bytes', 'bytes_only', 'binary', 'ubinary']);
  const result = await engine.embed(inputs, {
    ...common,
    addSpecialTokens,
    dimensions: optInt(body, 'dimensions'),
    useActivation: optBool(body, 'use_activation'),
    promptName: optString(body, 'prompt_name'),
    pooling: optEnum(body, 'pooling', POOL_MODES),
    // base64 and bytes are transport encodings of the floats: done here, where dtype and byte order are chosen.
    encodingFormat: t.format === 'binary' || t.format === 'ubinary' ? t.format : 'float',
  });
  call.metadata = result.metadata;
  call.usage = result.usage;
  const id = `embd-${call.requestId}`;
  if (t.format === 'bytes' || t.format === 'bytes_only') return bytesResponse(call, name, id, result.embeddings as Float32Array[], result.usage, t);
  const wire = (e: unknown): number[] | number[][] | string => {
    if (e instanceof Float32Array) {
      if (t.format === 'binary' || t.format === 'ubinary') return packBits(e, t.format === 'binary');
      return jsonOutput(e, t.format === 'base64' ? 'base64' : 'float', t.dtype, t.endianness);
    }
    return typeof e === 'string' ? e : Array.from(e as ArrayLike<number>);
  };
  return json(call, {
    id,
    object: 'list',
    created: now(),
    model: name,
    data: result.embeddings.map((e, index) => ({ index, object: 'embedding', embedding: wire(e) })),
    usage: usageInfo(result.usage),
  });
}

/** POST /classify */
export async function classify(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'classify', 'Classification');
  const common = commonOptions(call, body);
  const { inputs, addSpecialTokens } = readInputs(body, engine);
  const result = await engine.classify(inputs, { ...common, addSpecialTokens, useActivation: optBool(body, 'use_activation') });
  call.metadata = result.metadata;
  call.usage = result.usage;
  return json(call, {
    id: `classify-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: result.data.map((d) => ({ index: d.index, label: d.label, probs: d.probs, num_classes: d.numClasses })),
    usage: usageInfo(result.usage),
  });
}

const POOLING_TASKS = ['embed', 'classify', 'token_embed', 'token_classify'] as const;
type PoolingTask = (typeof POOLING_TASKS)[number];

/** vLLM's messages for tasks it removed (vllm/tasks.py). */
const REMOVED_TASKS: Record<string, string> = {
  score: '`score` task was removed; use `classify` instead.',
  encode: '`encode` task was removed; use `token_embed` or `token_classify` instead.',
};

function poolingTask(body: Body, engine: EngineApi): PoolingTask {
  const v = field(body, 'task');
  if (v === undefined) {
    const d = engine.info.defaultTask;
    if (d && (POOLING_TASKS as readonly string[]).includes(d)) return d as PoolingTask;
    const t = engine.info.tasks.find((x): x is PoolingTask => (POOLING_TASKS as readonly string[]).includes(x));
    if (!t) throw badRequest('The model does not support Pooling API');
    return t;
  }
  if (typeof v === 'string' && REMOVED_TASKS[v]) throw badRequest(REMOVED_TASKS[v]);
  if (typeof v !== 'string' || !(POOLING_TASKS as readonly string[]).includes(v)) {
    throw badRequest(`\`task\` must be one of ${POOLING_TASKS.map((x) => `'${x}'`).join(', ')}, got ${describe(v)}.`);
  }
  if (!engine.info.tasks.includes(v as Task)) {
    throw badRequest(`Task '${v}' is not supported by model "${engine.info.model}"; it serves ${engine.info.tasks.map((x) => `'${x}'`).join(', ')}.`);
  }
  return v as PoolingTask;
}

/** POST /pooling — the raw pooler output of any pooling task. */
export async function pooling(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  const task = poolingTask(body, engine);
  const common = commonOptions(call, body);
  const { inputs, addSpecialTokens } = readInputs(body, engine);
  const t = transport(body, ['float', 'base64', 'bytes', 'bytes_only']);
  const opts = { ...common, addSpecialTokens };
  const dimensions = optInt(body, 'dimensions');
  const useActivation = optBool(body, 'use_activation');
  checkTaskParams(task, { dimensions, use_activation: useActivation });
  let outputs: PoolingOutput[];
  let usage: Usage;
  if (task === 'embed') {
    const r = await engine.embed(inputs, { ...opts, dimensions, useActivation, encodingFormat: 'float' });
    outputs = r.embeddings.map((e) => {
      if (!(e instanceof Float32Array)) throw new InternalError('The engine returned a non-float embedding for encodingFormat "float".');
      return e;
    });
    usage = r.usage;
    call.metadata = r.metadata;
  } else if (task === 'classify') {
    const r = await engine.classify(inputs, { ...opts, useActivation });
    outputs = r.data.map((d) => d.probs);
    usage = r.usage;
    call.metadata = r.metadata;
  } else {
    const r = await engine.encode(inputs, { ...opts, task, dimensions, useActivation });
    outputs = r.data;
    usage = r.usage;
    call.metadata = r.metadata;
  }
  call.usage = usage;
  const id = `pool-${call.requestId}`;
  if (t.format === 'bytes' || t.format === 'bytes_only') return bytesResponse(call, name, id, outputs, usage, t);
  return json(call, {
    id,
    object: 'list',
    created: now(),
    model: name,
    data: outputs.map((o, index) => ({ index, object: 'pooling', data: jsonOutput(o, t.format as 'float' | 'base64', t.dtype, t.endianness) })),
    usage: usageInfo(usage),
  });
}

/** POST /tokenize — a `prompt`, or chat `messages` (add_generation_prompt defaults to true here, as in vLLM). */
export async function tokenize(call: Call): Promise<Response> {
  const { body, engine } = await parse(call);
  const returnTokenStrs = optBool(body, 'return_token_strs') ?? false;
  let prompt: string;
  let addSpecialTokens: boolean;
  if (field(body, 'messages') !== undefined) {
    if (field(body, 'prompt') !== undefined) throw badRequest('Send either `prompt` or `messages`, not both.');
    prompt = renderMessages(engine, body, true);
    addSpecialTokens = optBool(body, 'add_special_tokens') ?? false;
  } else {
    prompt = optString(body, 'prompt') ?? '';
    if (field(body, 'prompt') === undefined) throw badRequest('`prompt` is required.');
    addSpecialTokens = optBool(body, 'add_special_tokens') ?? true;
  }
  const r = engine.tokenize(prompt, { addSpecialTokens, returnTokenStrs });
  return json(call, { count: r.count, max_model_len: r.maxModelLen, tokens: r.tokens, token_strs: returnTokenStrs ? (r.tokenStrs ?? null) : null });
}

/** POST /detokenize */
export async function detokenize(call: Call): Promise<Response> {
  const { body, engine } = await parse(call);
  const tokens = field(body, 'tokens');
  if (tokens === undefined) throw badRequest('`tokens` is required.');
  if (!Array.isArray(tokens)) throw badRequest(`\`tokens\` must be a list of token ids, got ${describe(tokens)}.`);
  tokens.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw badRequest(`\`tokens\` item ${i} must be a non-negative integer, got ${describe(t)}.`);
  });
  return json(call, { prompt: engine.detokenize(tokens as number[]) });
}
