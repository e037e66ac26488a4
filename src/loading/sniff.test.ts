import { describe, expect, it } from 'vitest';
import { impostorByBody, impostorByHeaders, jsonErrorMessage } from './sniff';

const enc = (s: string) => new TextEncoder().encode(s);

describe('what a server really answered', () => {
  it('HTML by content type or by its first bytes', () => {
    expect(impostorByHeaders('config.json', 'text/html; charset=utf-8')).toEqual({ kind: 'html' });
    expect(impostorByBody('tokenizer.json', enc('\n  <!DOCTYPE html><html>'), true, 'application/octet-stream')).toEqual({ kind: 'html' });
    expect(impostorByBody('model.safetensors', enc('<html><body>'), false, null)).toEqual({ kind: 'html' });
  });

  it('a JSON error object for a JSON file, or any JSON for a binary file', () => {
    expect(impostorByBody('config.json', enc('{"error":"Entry not found"}'), true, 'application/json')).toEqual({ kind: 'json-error', message: 'Entry not found' });
    expect(impostorByHeaders('model.safetensors', 'application/json')).toMatchObject({ kind: 'json-error' });
    expect(jsonErrorMessage('{"detail":"Not Found","status":404}')).toBe('Not Found');
  });

  it('real files pass: JSON configs (even with an "error" setting), safetensors, text', () => {
    expect(impostorByBody('config.json', enc('{"error": 0.1, "hidden_size": 64}'), true, 'application/json')).toBeNull();
    expect(impostorByBody('config.json', enc('{"model_type":"bert"}'), true, 'application/json')).toBeNull();
    const st = new Uint8Array([0x7b, 0, 0, 0, 0, 0, 0, 0, 0x7b]);
    expect(impostorByBody('model.safetensors', st, false, 'application/octet-stream')).toBeNull();
    expect(impostorByBody('vocab.txt', enc('[PAD]\n[UNK]\n'), true, 'text/plain')).toBeNull();
    expect(jsonErrorMessage('[1,2]')).toBeNull();
    expect(jsonErrorMessage('not json')).toBeNull();
  });
});
