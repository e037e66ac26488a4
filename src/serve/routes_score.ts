// /score and /rerank in vLLM's shapes (vllm/entrypoints/pooling/scoring): pairing 1:1, 1:N, N:N;
// `max_tokens_per_query` / `max_tokens_per_doc` cap each side's text tokens before the pair is
// built; `documents` of a rerank must be a list. How a pair is compared (cross-encoder,
// bi-encoder cosine, late-interaction MaxSim) is the engine's: vLLM decides it from the task the
// model is served for, and so does wgpool (EngineInfo.scoreType, --pooler-config task).

import { badRequest, describe, field, json, now, optBool, optInt, optString, parse, requireTask, reqString, usageInfo, type Body, type Call } from './request';
import { commonOptions } from './inputs';
import type { ScoreOptions } from '../router/types';

/** The field pairs vLLM's ScoreRequest accepts, newest names first. */
const SCORE_PAIRS = [
  ['queries', 'documents'],
  ['queries', 'items'],
  ['data_1', 'data_2'],
  ['text_1', 'text_2'],
] as const;

/** One side of a score request: a string or a non-empty list of strings. */
function scoreSide(body: Body, name: string): string[] {
  const v = field(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw badRequest(`\`${name}\` must be a string or a list of strings, got ${describe(v)}.`);
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw badRequest(`\`${name}\` must be a string or a list of strings; item ${i} is ${describe(x)}.`);
  });
  return v as string[];
}

/** Score / rerank fields beyond the common ones. */
function scoringOptions(call: Call, body: Body): ScoreOptions {
  if (optString(body, 'instruction') !== undefined) {
    // vLLM feeds `instruction` to a model's score template (e.g. Qwen3-Reranker's "<Instruct>: …");
    // wgpool's rerankers carry no such template, so the instruction would change nothing.
    throw badRequest('`instruction` needs a model with a score template; this model has none, so wgpool refuses it rather than ignore it.');
  }
  if (field(body, 'chat_template_kwargs') !== undefined) throw badRequest('`chat_template_kwargs` applies to score templates, which wgpool does not support.');
  const perQuery = optInt(body, 'max_tokens_per_query', 0);
  const perDoc = optInt(body, 'max_tokens_per_doc', 0);
  return {
    ...commonOptions(call, body),
    useActivation: optBool(body, 'use_activation'),
    // 0 (Cohere's "unset") and absent mean no cap.
    maxTokensPerQuery: perQuery || undefined,
    maxTokensPerDoc: perDoc || undefined,
  };
}

/** vLLM's pairing rule and wording (validate_score_input). */
function checkPairing(a: string[], b: string[]): void {
  if (a.length === 0 || b.length === 0) throw badRequest('At least one text element must be given');
  if (a.length > 1 && a.length !== b.length) throw badRequest('Input lengths must be either 1:1, 1:N or N:N');
}

/** POST /score, /v1/score */
export async function score(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'score', 'Score');
  const opts = scoringOptions(call, body);
  const pair =
    SCORE_PAIRS.find(([k1, k2]) => field(body, k1) !== undefined && field(body, k2) !== undefined) ??
    SCORE_PAIRS.find(([k1, k2]) => field(body, k1) !== undefined || field(body, k2) !== undefined);
  if (!pair) throw badRequest('Send `queries` and `documents` (or `text_1` and `text_2`) to score.');
  const a = scoreSide(body, pair[0]);
  const b = scoreSide(body, pair[1]);
  checkPairing(a, b);
  const result = await engine.score(a, b, opts);
  call.metadata = result.metadata;
  call.usage = result.usage;
  return json(call, {
    id: `score-${call.requestId}`,
    object: 'list',
    created: now(),
    model: name,
    data: result.scores.map((s, index) => ({ index, object: 'score', score: s })),
    usage: usageInfo(result.usage),
  });
}

/** Rerank documents: a list of strings, or of objects with a `text` string (Cohere / Jina style). */
function rerankDocuments(body: Body): string[] {
  const v = field(body, 'documents');
  if (v === undefined) throw badRequest('`documents` is required.');
  if (!Array.isArray(v)) throw badRequest(`\`documents\` must be a list of strings or of objects with a \`text\` string, got ${describe(v)}.`);
  if (v.length === 0) throw badRequest('`documents` must not be an empty list.');
  return v.map((d, i) => {
    if (typeof d === 'string') return d;
    if (typeof d === 'object' && d !== null && !Array.isArray(d) && typeof (d as Body).text === 'string') return (d as Body).text as string;
    throw badRequest(`\`documents\` item ${i} must be a string or an object with a \`text\` string, got ${describe(d)}.`);
  });
}

/** POST /rerank, /v1/rerank, /v2/rerank */
export async function rerank(call: Call): Promise<Response> {
  const { body, name, engine } = await parse(call);
  requireTask(engine, 'score', 'Rerank');
  const opts = scoringOptions(call, body);
  const query = reqString(body, 'query');
  const documents = rerankDocuments(body);
  const topN = optInt(body, 'top_n', 0) || documents.length;
  const returnDocuments = optBool(body, 'return_documents') ?? true;
  const result = await engine.rerank(query, documents, { ...opts, topN: Math.min(topN, documents.length), returnDocuments });
  call.metadata = result.metadata;
  call.usage = result.usage;
  const results = [...result.results].sort((x, y) => y.relevanceScore - x.relevanceScore).slice(0, topN);
  return json(call, {
    id: `rerank-${call.requestId}`,
    model: name,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
    results: results.map((r) =>
      returnDocuments
        ? { index: r.index, document: { text: documents[r.index], multi_modal: null }, relevance_score: r.relevanceScore }
        : { index: r.index, relevance_score: r.relevanceScore },
    ),
  });
}
