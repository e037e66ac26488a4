// What a web server really answered. Static hosts with an SPA fallback (Vite's dev and preview
// servers, Netlify, GitHub Pages with a 404.html trick, most PWA setups) answer 200 with index.html
// for a file that does not exist, and some APIs answer 200 with a JSON error object. Believing
// either turns "this optional file is absent" into "config.json is not valid JSON: Unexpected
// token '<'" — the error Transformers.js users hit most often. So a body is checked before use.

/** Why a response is not the file that was asked for, or null when it may well be. */
export type Impostor = { kind: 'html' } | { kind: 'json-error'; message: string };

const HTML_START = /^\s*<(!doctype\s+html|html|head|body|script|meta|title|!--)/i;

/** Files that may legitimately be HTML or a JSON object (we never load HTML, so only JSON matters). */
function isJsonFile(path: string): boolean {
  return path.endsWith('.json');
}

function isHtmlContentType(type: string | null): boolean {
  return !!type && /^\s*(text\/html|application\/xhtml\+xml)/i.test(type);
}

function isJsonContentType(type: string | null): boolean {
  return !!type && /^\s*application\/(problem\+)?json/i.test(type);
}

/** Judge from the headers alone (HEAD probes, or before reading a large body). */
export function impostorByHeaders(path: string, contentType: string | null): Impostor | null {
  if (isHtmlContentType(contentType)) return { kind: 'html' };
  // A JSON answer for a binary file (safetensors, vocab.txt) can only be an error object.
  if (isJsonContentType(contentType) && !isJsonFile(path)) return { kind: 'json-error', message: 'a JSON body' };
  return null;
}

/**
 * Judge from the first bytes (and, for JSON files, the whole small body). `head` is the start of
 * the body; `whole` is true when it is the whole body.
 */
export function impostorByBody(path: string, head: Uint8Array, whole: boolean, contentType: string | null): Impostor | null {
  const byHeaders = impostorByHeaders(path, contentType);
  if (byHeaders) return byHeaders;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 512));
  if (HTML_START.test(text)) return { kind: 'html' };
  if (isJsonFile(path) && whole && /^\s*\{/.test(text)) {
    const message = jsonErrorMessage(new TextDecoder().decode(head));
    if (message !== null) return { kind: 'json-error', message };
  }
  return null;
}

/**
 * The message of an error object such as the hub's {"error":"Entry not found"} or an RFC 7807
 * problem, or null. Only objects made of nothing but error fields count: a real config.json that
 * happens to have an "error" key among its settings is not one.
 */
export function jsonErrorMessage(text: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  const errorKeys = new Set(['error', 'message', 'status', 'statusCode', 'code', 'detail', 'title', 'type']);
  if (keys.length === 0 || !keys.every((k) => errorKeys.has(k))) return null;
  if (!('error' in v) && !('detail' in v)) return null;
  const o = v as Record<string, unknown>;
  const msg = o.error ?? o.detail ?? o.message;
  return typeof msg === 'string' ? msg : JSON.stringify(msg);
}

/** The sentence for an error: what came back instead of `path`. */
export function describeImpostor(imp: Impostor, path: string): string {
  return imp.kind === 'html'
    ? `got an HTML page, not ${path} — is the path right? (a static host's SPA fallback answers index.html for files it does not have)`
    : `got a JSON error (${imp.message}), not ${path} — is the path right?`;
}
