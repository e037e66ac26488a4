// Chat-style input (`messages`) → the prompt text, with the model's Jinja chat template rendered by
// @huggingface/jinja (the implementation Transformers.js uses), the way transformers'
// apply_chat_template and vLLM's pooling entrypoints do it:
// - the template sees `messages`, `add_generation_prompt`, the tokenizer's special tokens by name
//   (bos_token, eos_token, …) and every `chat_template_kwargs` entry; add_generation_prompt and
//   continue_final_message from the request win over same-named kwargs, as vLLM merges them;
// - message content is a string, or a list of text parts joined with "\n" (vLLM's "string"
//   content format); other parts (images, audio) are refused — these models read text only;
// - continue_final_message cuts the rendered text right after the last message's content;
// - a model without a template is refused with vLLM's (transformers') message.
// Tokenizing the result is the caller's business: vLLM's chat requests default to
// add_special_tokens = false, because the template already writes the special tokens.

import { Template } from '@huggingface/jinja';
import { BadRequestError } from '../gpu/errors';
import type { ChatMessage, ChatOptions } from '../router/types';

/** What a chat template needs from a tokenizer. */
export interface ChatTemplateSource {
  chatTemplate(name?: string): string | null;
  specialTokensMap(): Record<string, string | string[]>;
}

export const NO_CHAT_TEMPLATE =
  'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.';

/** Parsed templates by source text: a template is compiled once, not per request. */
const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new BadRequestError(`The chat template cannot be parsed: ${(e as Error).message}`);
    }
    if (compiled.size > 32) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

/** Messages as the template sees them: text content flattened, other fields passed through. */
export function normalizeMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequestError('`messages` must be a non-empty list of chat messages.');
  return messages.map((m, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new BadRequestError(`\`messages\` item ${i} must be an object with \`role\` and \`content\`.`);
    const msg = m as Record<string, unknown>;
    if (typeof msg.role !== 'string') throw new BadRequestError(`\`messages\` item ${i} needs a string \`role\`.`);
    const content = msg.content;
    if (content === undefined || content === null || typeof content === 'string') return { ...msg, role: msg.role, content: content ?? null } as ChatMessage;
    if (!Array.isArray(content)) throw new BadRequestError(`\`messages\` item ${i}: \`content\` must be a string or a list of content parts.`);
    const texts = content.map((part, j) => {
      const p = part as Record<string, unknown> | null;
      if (typeof p === 'string') return p;
      if (p && p.type === 'text' && typeof p.text === 'string') return p.text;
      const type = p && typeof p.type === 'string' ? p.type : typeof p;
      throw new BadRequestError(`\`messages\` item ${i} content part ${j} is of type '${type}'; wgpool's models take text parts only.`);
    });
    return { ...msg, role: msg.role, content: texts.join('\n') } as ChatMessage;
  });
}

/** Render a chat to the prompt text. */
export function renderChat(messages: unknown, opts: ChatOptions, tokenizer: ChatTemplateSource): string {
  if (opts.addGenerationPrompt && opts.continueFinalMessage) {
    throw new BadRequestError('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  }
  const kwargs = opts.chatTemplateKwargs ?? {};
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) throw new BadRequestError('`chat_template_kwargs` must be a JSON object.');
  const source = opts.chatTemplate ?? tokenizer.chatTemplate();
  if (source === null || source === undefined || source === '') throw new BadRequestError(NO_CHAT_TEMPLATE);
  const chat = normalizeMessages(messages);
  const template = compile(source);
  let rendered: string;
  try {
    rendered = template.render({
      ...tokenizer.specialTokensMap(),
      ...kwargs,
      messages: chat,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      continue_final_message: opts.continueFinalMessage ?? false,
    });
  } catch (e) {
    throw new BadRequestError(`The chat template failed to render: ${(e as Error).message}`);
  }
  if (opts.continueFinalMessage) {
    const last = chat[chat.length - 1].content;
    const final = (typeof last === 'string' ? last : '').trim();
    const at = final ? rendered.lastIndexOf(final) : -1;
    if (at < 0) throw new BadRequestError('continue_final_message is set but the final message does not appear in the chat after applying the chat template.');
    rendered = rendered.slice(0, at + final.length);
  }
  return rendered;
}
