// Chat templates as the tokenizer carries them (tokenizer_config chat_template, a named list, or
// chat_template.jinja), rendered through @huggingface/jinja, on the ChatML fixture.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NO_CHAT_TEMPLATE, renderChat } from './chat_template';
import { TextTokenizer } from './tokenizer';

const DIR = fileURLToPath(new URL('../../test/fixtures/chat/tiny-qwen3-embed-chat', import.meta.url));
const tokJson = JSON.parse(readFileSync(`${DIR}/tokenizer.json`, 'utf8'));
const tokConfig = JSON.parse(readFileSync(`${DIR}/tokenizer_config.json`, 'utf8'));
const chat = [
  { role: 'system', content: 'Answer briefly.' },
  { role: 'user', content: 'What is a pooling model?' },
];

describe('chat templates', () => {
  it("renders the tokenizer_config template: ChatML blocks, generation prompt, kwargs; the template's special tokens tokenize as themselves", () => {
    const tok = TextTokenizer.fromJson(tokJson, tokConfig, 'chat');
    const text = renderChat(chat, {}, tok);
    expect(text).toBe('<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nWhat is a pooling model?<|im_end|>\n');
    expect(renderChat(chat, { addGenerationPrompt: true }, tok)).toBe(text + '<|im_start|>assistant\n');
    expect(renderChat(chat, { addGenerationPrompt: true, chatTemplateKwargs: { enable_thinking: false } }, tok)).toBe(text + '<|im_start|>assistant\n<think>\n\n</think>\n\n');
    const enc = tok.encode(text, undefined, { addSpecialTokens: false });
    expect(enc.ids[0]).toBe(tok.tokenId('<|im_start|>'));
    expect(enc.ids.filter((id) => id === tok.tokenId('<|im_end|>'))).toHaveLength(2);
    expect(tok.encode(text).ids.length).toBe(enc.ids.length + 1); // add_special_tokens appends <|endoftext|>
  });

  it('continue_final_message stops right after the last message', () => {
    const tok = TextTokenizer.fromJson(tokJson, tokConfig, 'chat');
    const open = renderChat([...chat, { role: 'assistant', content: 'A model that' }], { continueFinalMessage: true }, tok);
    expect(open.endsWith('<|im_start|>assistant\nA model that')).toBe(true);
  });

  it('takes chat_template.jinja over tokenizer_config, a named list entry, or --chat-template; none is vLLM\'s error', () => {
    const fromFile = TextTokenizer.fromJson(tokJson, tokConfig, 'chat', '{{ messages | length }} messages');
    expect(renderChat(chat, {}, fromFile)).toBe('2 messages');
    const listed = TextTokenizer.fromJson(tokJson, { ...tokConfig, chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D{{ eos_token }}' }] }, 'chat');
    expect(renderChat(chat, {}, listed)).toBe('D<|endoftext|>');
    const none = TextTokenizer.fromJson(tokJson, { ...tokConfig, chat_template: undefined }, 'none');
    expect(() => renderChat(chat, {}, none)).toThrow(NO_CHAT_TEMPLATE);
    expect(renderChat(chat, { chatTemplate: '{{ messages[1].content }}' }, none)).toBe('What is a pooling model?');
    expect(() => renderChat(chat, { chatTemplate: '{% if %}' }, none)).toThrow(/The chat template cannot be parsed/);
  });
});
