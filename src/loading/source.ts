// Where a model's files come from: a local folder (Node), an http(s) URL prefix, a Hugging Face hub
// id, browser File lists (<input webkitdirectory>, drag and drop) or files already in memory. Every
// loader (config, weights, tokenizer, pooling) reads through this one interface, so it never knows
// which of these it is talking to.
//
// File paths inside a model are untrusted (modules.json names folders, a shard index names files),
// so every source refuses absolute paths and `..` before touching the disk or the network.

import { ModelLoadError, NotFoundError, abortError } from '../gpu/errors';

export interface ModelSource {
  /** What the user passed (folder path, URL, hub id, …); used in every error message. */
  readonly id: string;
  /** Whether the model has this file. Network or permission failures throw; only "missing" is false. */
  exists(path: string): Promise<boolean>;
  /** The whole file. A missing file is a NotFoundError naming the file and the model. */
  bytes(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** The file as UTF-8 text. */
  text(path: string, signal?: AbortSignal): Promise<string>;
  /** The file parsed as JSON; malformed JSON is a ModelLoadError `<path> is not valid JSON: …`. */
  json<T = unknown>(path: string, signal?: AbortSignal): Promise<T>;
}

export interface ResolveOptions {
  /** Hub endpoint for ids like "org/name" (default https://huggingface.co). */
  endpoint?: string;
  /** Hub branch, tag or commit (default "main"). */
  revision?: string;
  /** fetch implementation for URL and hub sources (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Hub access token for gated or private repositories, sent as `Authorization: Bearer …`. */
  token?: string;
}

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/**
 * Turn what the user gave into a ModelSource:
 * - a ModelSource: returned as is;
 * - File[] / FileList: files picked in a browser, matched by their path inside the picked folder;
 * - "http://…" / "https://…": a URL prefix, files fetched as `${prefix}/${path}`;
 * - "file://…", an absolute path, or one starting with "./" "../" (or any existing folder) in Node: a
 *   local folder. Like transformers' from_pretrained, an existing local folder wins over a hub id of
 *   the same spelling. In a browser, such paths are URLs relative to the page;
 * - otherwise a hub id ("org/name" or "name"): `${endpoint}/${id}/resolve/${revision}/${path}`.
 */
export async function resolveSource(
  model: string | ModelSource | File[] | FileList,
  opts: ResolveOptions = {},
): Promise<ModelSource> {
  if (typeof model !== 'string') {
    if (isModelSource(model)) return model;
    return fileListSource(Array.from(model as ArrayLike<File>));
  }
  const fetchImpl = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  if (/^https?:\/\//i.test(model)) {
    return new HttpSource(model, model.replace(/\/+$/, ''), requireFetch(fetchImpl, model), headers);
  }
  if (/^file:\/\//i.test(model)) {
    if (!isNode()) throw new ModelLoadError(`Model "${model}": file:// URLs can only be read in Node; in a browser pick the folder with an <input type="file" webkitdirectory>.`);
    const { fileURLToPath } = (await import(/* @vite-ignore */ NODE_URL)) as typeof import('node:url');
    return folderSource(fileURLToPath(model), model);
  }
  if (looksLikePath(model)) {
    if (isNode()) return folderSource(model, model);
    if (typeof location !== 'undefined') {
      const base = new URL(model, location.href).href.replace(/\/+$/, '');
      return new HttpSource(model, base, requireFetch(fetchImpl, model), headers);
    }
    throw new ModelLoadError(`Model "${model}" looks like a local path, but there is no file system here; pass the files (File[]) or a URL.`);
  }
  if (isNode() && (await isDirectory(model))) return folderSource(model, model);
  if (HUB_ID.test(model) && !model.split('/').some((s) => s === '.' || s === '..')) {
    const endpoint = (opts.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    const revision = encodeURIComponent(opts.revision ?? 'main');
    const base = `${endpoint}/${model}/resolve/${revision}`;
    return new HttpSource(model, base, requireFetch(fetchImpl, model), headers);
  }
  throw new ModelLoadError(
    `Model "${model}" is not a hub id ("org/name"), an http(s) URL or ${isNode() ? 'an existing folder' : 'a path'}.`,
  );
}

/** A model held in memory (files fetched by the caller, tests, generated models). */
export function memorySource(id: string, files: Record<string, Uint8Array | ArrayBuffer | string>): ModelSource {
  const enc = new TextEncoder();
  const map = new Map<string, Uint8Array>();
  for (const [path, data] of Object.entries(files)) {
    map.set(checkPath(path, id), typeof data === 'string' ? enc.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data));
  }
  return new MemorySource(id, map);
}

/** Files picked in a browser (or any File objects). See FileListSource for how paths are matched. */
export function fileListSource(files: File[]): ModelSource {
  if (files.length === 0) throw new ModelLoadError('resolveSource: the list of model files is empty.');
  for (const f of files) {
    if (!f || typeof f.name !== 'string' || typeof f.arrayBuffer !== 'function') {
      throw new ModelLoadError('resolveSource: expected File objects (from an <input type="file"> or a drop).');
    }
  }
  return FileListSource.fromFiles(files);
}

// ---------------------------------------------------------------------------------------------
// Shared behaviour

const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_URL = 'node:url';
// A hub repo id: "name" or "owner/name" with the characters the hub allows.
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

function isNode(): boolean {
  return typeof globalThis.process !== 'undefined' && !!globalThis.process.versions?.node;
}

function looksLikePath(s: string): boolean {
  return s === '.' || s === '..' || /^(\/|\.\.?[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(s) || s.includes('\\');
}

function isModelSource(x: unknown): x is ModelSource {
  const s = x as ModelSource;
  return typeof s === 'object' && s !== null && typeof s.id === 'string' && typeof s.bytes === 'function' && typeof s.exists === 'function';
}

function requireFetch(f: typeof fetch | undefined, model: string): typeof fetch {
  if (!f) throw new ModelLoadError(`Model "${model}": no fetch() in this environment; pass opts.fetch.`);
  return f;
}

/** Validate a file path inside a model: relative, '/'-separated, no '.', '..' or empty segments. */
export function checkPath(path: string, modelId: string): string {
  const bad = (why: string) => new ModelLoadError(`Model "${modelId}": invalid file path ${JSON.stringify(path)} (${why}).`);
  if (typeof path !== 'string' || path.length === 0) throw bad('empty');
  if (path.includes('\\') || path.includes('\0')) throw bad('backslash or NUL');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw bad('absolute');
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw bad('empty, "." or ".." segment');
  }
  return path;
}

function missing(path: string, id: string, where: string): NotFoundError {
  return new NotFoundError(`File "${path}" not found in model "${id}" (${where}).`);
}

/** text() and json() on top of bytes(), plus path checking. */
abstract class BaseSource implements ModelSource {
  constructor(readonly id: string) {}

  abstract exists(path: string): Promise<boolean>;
  abstract bytes(path: string, signal?: AbortSignal): Promise<Uint8Array>;

  async text(path: string, signal?: AbortSignal): Promise<string> {
    return new TextDecoder('utf-8').decode(await this.bytes(path, signal));
  }

  async json<T = unknown>(path: string, signal?: AbortSignal): Promise<T> {
    const text = await this.text(path, signal);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new ModelLoadError(`${path} is not valid JSON: ${(e as Error).message} (model "${this.id}")`);
    }
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason);
}

// ---------------------------------------------------------------------------------------------
// Memory

class MemorySource extends BaseSource {
  constructor(id: string, private readonly files: Map<string, Uint8Array>) {
    super(id);
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(checkPath(path, this.id));
  }

  async bytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const data = this.files.get(checkPath(path, this.id));
    if (!data) throw missing(path, this.id, 'in-memory files');
    return data;
  }
}

// ---------------------------------------------------------------------------------------------
// Local folder (Node). node:fs is imported dynamically through a variable, so browser bundles
// neither include nor try to resolve it.

type Fs = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

async function nodeModules(): Promise<{ fs: Fs; path: NodePath }> {
  const [fs, path] = await Promise.all([import(/* @vite-ignore */ NODE_FS), import(/* @vite-ignore */ NODE_PATH)]);
  return { fs: fs as Fs, path: path as NodePath };
}

async function isDirectory(p: string): Promise<boolean> {
  const { fs } = await nodeModules();
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function folderSource(dir: string, id: string): Promise<ModelSource> {
  const { fs, path } = await nodeModules();
  const root = path.resolve(dir);
  let stat;
  try {
    stat = await fs.stat(root);
  } catch (e) {
    if (isMissingError(e)) throw new NotFoundError(`Model folder "${id}" does not exist (${root}).`);
    throw new ModelLoadError(`Model folder "${id}" cannot be read: ${(e as Error).message}`);
  }
  if (!stat.isDirectory()) throw new ModelLoadError(`Model "${id}" is a file, not a folder (${root}).`);
  return new FolderSource(id, root, fs, path);
}

function isMissingError(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class FolderSource extends BaseSource {
  constructor(
    id: string,
    private readonly root: string,
    private readonly fs: Fs,
    private readonly path: NodePath,
  ) {
    super(id);
  }

  private file(p: string): string {
    return this.path.join(this.root, ...checkPath(p, this.id).split('/'));
  }

  async exists(p: string): Promise<boolean> {
    const file = this.file(p);
    try {
      return (await this.fs.stat(file)).isFile();
    } catch (e) {
      if (isMissingError(e)) return false;
      throw new ModelLoadError(`Model "${this.id}": cannot read ${file}: ${(e as Error).message}`);
    }
  }

  async bytes(p: string, signal?: AbortSignal): Promise<Uint8Array> {
    const file = this.file(p);
    throwIfAborted(signal);
    try {
      const buf = await this.fs.readFile(file, { signal });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw abortError(signal?.reason ?? e);
      if (isMissingError(e)) throw missing(p, this.id, file);
      if ((e as { code?: string })?.code === 'EISDIR') throw new ModelLoadError(`Model "${this.id}": ${file} is a folder, not a file.`);
      throw new ModelLoadError(`Model "${this.id}": cannot read ${file}: ${(e as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP: a URL prefix or the hub's resolve/<revision>/ prefix.

class HttpSource extends BaseSource {
  // exists() answers are cached: pooling and weight loading probe the same few files.
  private readonly known = new Map<string, Promise<boolean>>();

  constructor(
    id: string,
    private readonly base: string,
    private readonly fetchImpl: typeof fetch,
    private readonly headers: Record<string, string>,
  ) {
    super(id);
  }

  private url(p: string): string {
    return `${this.base}/${checkPath(p, this.id).split('/').map(encodeURIComponent).join('/')}`;
  }

  exists(p: string): Promise<boolean> {
    const url = this.url(p);
    let hit = this.known.get(p);
    if (!hit) {
      hit = this.request(url, 'HEAD').then((res) => {
        if (res.ok) return true;
        if (res.status === 404 || res.status === 410) return false;
        throw this.httpError('HEAD', url, res);
      });
      // A failed probe (network, 5xx) is not remembered: the next call asks again.
      hit.catch(() => this.known.delete(p));
      this.known.set(p, hit);
    }
    return hit;
  }

  async bytes(p: string, signal?: AbortSignal): Promise<Uint8Array> {
    const url = this.url(p);
    const res = await this.request(url, 'GET', signal);
    if (res.status === 404 || res.status === 410) {
      this.known.set(p, Promise.resolve(false));
      throw missing(p, this.id, `GET ${url} → ${res.status}`);
    }
    if (!res.ok) throw this.httpError('GET', url, res);
    let body: ArrayBuffer;
    try {
      body = await res.arrayBuffer();
    } catch (e) {
      if (signal?.aborted) throw abortError(signal.reason);
      throw new ModelLoadError(`Model "${this.id}": GET ${url} failed while reading the body: ${(e as Error).message}`);
    }
    this.known.set(p, Promise.resolve(true));
    return new Uint8Array(body);
  }

  private async request(url: string, method: 'GET' | 'HEAD', signal?: AbortSignal): Promise<Response> {
    throwIfAborted(signal);
    try {
      return await this.fetchImpl(url, { method, headers: this.headers, signal, redirect: 'follow' });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal.reason);
      throw new ModelLoadError(`Model "${this.id}": ${method} ${url} failed: ${(e as Error).message}`);
    }
  }

  private httpError(method: string, url: string, res: Response): ModelLoadError {
    const hint =
      res.status === 401 || res.status === 403
        ? ' (the repository may not exist, or be private or gated: check the id, or pass a token)'
        : '';
    return new ModelLoadError(`Model "${this.id}": ${method} ${url} → ${res.status} ${res.statusText}${hint}`.trimEnd());
  }
}

// ---------------------------------------------------------------------------------------------
// Browser files.

/**
 * Matches model paths against picked files. With `webkitRelativePath` ("picked/1_Pooling/config.json")
 * the first segment (the picked folder) is dropped; plain files (multi-select, drop) have just their
 * name, so only top-level paths can match them. The model root is the shallowest folder that holds
 * config.json, tokenizer.json, modules.json or the weights, so picking a parent of the model folder
 * works too; picking a folder that holds two models is an error naming both.
 */
class FileListSource extends BaseSource {
  private constructor(id: string, private readonly files: Map<string, File>) {
    super(id);
  }

  static fromFiles(list: File[]): FileListSource {
    const rels = list.map((file) => {
      const rel = file.webkitRelativePath ? file.webkitRelativePath.split('/').slice(1).join('/') : file.name;
      return { rel, file };
    });
    const picked = list.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0];
    const markers = new Set(['config.json', 'tokenizer.json', 'modules.json', 'model.safetensors', 'model.safetensors.index.json']);
    const dirs = new Set<string>();
    for (const { rel } of rels) {
      const slash = rel.lastIndexOf('/');
      if (markers.has(rel.slice(slash + 1))) dirs.add(slash < 0 ? '' : rel.slice(0, slash));
    }
    const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
    const shallowest = Math.min(...[...dirs].map(depth));
    const roots = [...dirs].filter((d) => depth(d) === shallowest);
    if (roots.length > 1) {
      throw new ModelLoadError(`The picked files hold more than one model folder (${roots.join(', ')}); pick one of them.`);
    }
    const root = roots[0] ?? '';
    const files = new Map<string, File>();
    for (const { rel, file } of rels) {
      if (root !== '' && !rel.startsWith(`${root}/`)) continue;
      const key = root === '' ? rel : rel.slice(root.length + 1);
      if (key && !files.has(key)) files.set(key, file);
    }
    const id = [picked, root].filter(Boolean).join('/') || 'picked files';
    return new FileListSource(id, files);
  }

  async exists(p: string): Promise<boolean> {
    return this.files.has(checkPath(p, this.id));
  }

  async bytes(p: string, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const file = this.files.get(checkPath(p, this.id));
    if (!file) throw missing(p, this.id, 'picked files');
    let data: ArrayBuffer;
    try {
      data = await file.arrayBuffer();
    } catch (e) {
      throw new ModelLoadError(`Model "${this.id}": cannot read picked file ${p}: ${(e as Error).message}`);
    }
    throwIfAborted(signal);
    return new Uint8Array(data);
  }
}
