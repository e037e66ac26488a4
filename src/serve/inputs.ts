// The request fields every pooling route reads, in vLLM's names and with vLLM's defaults:
// - `input` (completion style): a string, a list of strings, a list of token ids, or a list of
//   lists of token ids; `add_special_tokens` defaults to true (and is moot for token ids);
// - `messages` (chat style): rendered by the model's chat template to one prompt text;
//   `add_special_tokens` defaults to false (the template writes them), `add_generation_prompt` to
//   false (true on /tokenize, as vLLM's TokenizeChatRequest has it);
// - removed parameters are refused with vLLM's message (`normalize` → `use_activation`);
// - `truncate_prompt_tokens`, `truncation_side`, `priority`, `padding` and the ignored `user`,
//   `cache_salt`, `mm_processor_kwargs`.

import type { ChatOptions, CommonOptions, EngineApi, Input } from '../router/types';
import { badRequest, describe, field, optBool, optEnum, optInt, optObject, optString, type Body, type Call } from './request';

/** Parameters vLLM removed; each names what replaced it. */
const REMOVED_PARAMETERS: Record<string, string> = {
  normalize: 'use_activation',
  // Older vLLM's classification aliases; current vLLM has only use_activation.
  softmax: 'use_activation',
  activation: 'use_activation',
};

export function rejectRemovedParameters(body: Body): void {
  for (const [name, instead] of Object.entries(REMOVED_PARAMETERS)) {
    if (name in body) throw badRequest(`Parameter \`${name}\` was removed; use \`${instead}\` instead.`);
  }
}

/** Fields every pooling route shares. */
export function commonOptions(call: Call, body: Body): CommonOptions {
  rejectRemovedParameters(body);
  optString(body, 'user');
  optString(body, 'cache_salt');
  optObject(body, 'mm_processor_kwargs');
  // 'max_length' pads to the model's length for models trained without an attention mask; wgpool's
  // batches carry no padding at all, so only the default can be honoured.
  if (optEnum(body, 'padding', ['max_length', 'do_not_pad'] as const) === 'max_length') {
    throw badRequest("`padding: 'max_length'` is not supported by wgpool: batches are packed without padding; use 'do_not_pad' (the default).");
  }
  return {
    truncatePromptTokens: optInt(body, 'truncate_prompt_tokens', -1),
    truncationSide: optEnum(body, 'truncation_side', ['left', 'right'] as const),
    priority: optInt(body, 'priority'),
    signal: call.request.signal,
  };
}

/** Chat options of a `messages` request. */
export function chatOptions(body: Body, defaultGenerationPrompt: boolean): ChatOptions {
  if (optString(body, 'chat_template') !== undefined) {
    // vLLM refuses request templates unless started with --trust-request-chat-template; a template
    // is code the server runs, and wgpool has no such switch.
    throw badRequest('Chat template is passed with request, but --trust-request-chat-template is not set. Refused request with untrusted chat template.');
  }
  const addGenerationPrompt = optBool(body, 'add_generation_prompt') ?? defaultGenerationPrompt;
  const continueFinalMessage = optBool(body, 'continue_final_message') ?? false;
  if (addGenerationPrompt && continueFinalMessage && field(body, 'add_generation_prompt') === true) {
    throw badRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  }
  return {
    // continue_final_message turns the default generation prompt off rather than clash with it.
    addGenerationPrompt: continueFinalMessage ? false : addGenerationPrompt,
    continueFinalMessage,
    chatTemplateKwargs: optObject(body, 'chat_template_kwargs'),
  };
}

/** Render `messages` with the engine's chat template. */
export function renderMessages(engine: EngineApi, body: Body, defaultGenerationPrompt: boolean): string {
  const opts = chatOptions(body, defaultGenerationPrompt);
  if (!engine.renderChat) throw badRequest('Chat-style `messages` input is not available for this engine; send `input`.');
  return engine.renderChat(field(body, 'messages') as never, opts);
}

const isIdList = (v: unknown[]) => v.length > 0 && v.every((x) => typeof x === 'number');

/** `input` as vLLM's completion requests take it. */
function readInputField(body: Body, name: string): Input[] {
  const v = field(body, name);
  if (v === undefined) throw badRequest(`\`${name}\` is required.`);
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw badRequest(`\`${name}\` must be a string, a list of strings or token ids, got ${describe(v)}.`);
  if (v.length === 0) throw badRequest(`\`${name}\` must not be an empty list.`);
  if (isIdList(v)) return [{ ids: v as number[] }];
  if (v.every((x) => typeof x === 'string')) return v as string[];
  if (v.every((x) => Array.isArray(x))) {
    return (v as unknown[][]).map((ids, i) => {
      if (!isIdList(ids)) throw badRequest(`\`${name}\` item ${i} must be a non-empty list of token ids.`);
      return { ids: ids as number[] };
    });
  }
  const i = v.findIndex((x) => typeof x !== 'string');
  throw badRequest(`\`${name}\` must be a string, a list of strings, or token ids (list of integers, or of lists of integers); item ${i} is ${describe(v[i])}.`);
}

/**
 * The inputs of an embeddings / classify / pooling request and the add_special_tokens that goes
 * with them: `input`, or `messages` rendered to one prompt.
 */
export function readInputs(body: Body, engine: EngineApi): { inputs: Input[]; addSpecialTokens: boolean } {
  if (field(body, 'messages') !== undefined) {
    if (field(body, 'input') !== undefined) throw badRequest('Send either `input` or `messages`, not both.');
    const text = renderMessages(engine, body, false);
    return { inputs: [text], addSpecialTokens: optBool(body, 'add_special_tokens') ?? false };
  }
  return { inputs: readInputField(body, 'input'), addSpecialTokens: optBool(body, 'add_special_tokens') ?? true };
}
