// Where a model's files come from: a local folder (Node), an http(s) URL prefix, a Hugging Face hub
// id, browser File lists (<input webkitdirectory>, drag and drop) or files already in memory. Every
// loader (config, weights, tokenizer, pooling) reads through this one interface, so it never knows
// which of these it is talking to.
//
// File paths inside a model are untrusted (modules.json names folders, a shard index names files),
// so every source refuses absolute paths and `..` before touching the disk or the network.

import { ModelLoadError, NotFoundError, abortError } from '../gpu/errors';
import { ModelCache, openCacheStore, type CacheOption, type CacheRef } from './cache';
import { HttpSource } from './http_source';
import { BaseSource, bytesStream, checkPath, countedStream, missing, throwIfAborted, type FileEntry, type FileStream, type ModelSource, type ProgressFn } from './source_base';

export { checkPath } from './source_base';
export type { FileEntry, FileStream, ModelSource, ProgressFn } from './source_base';

export interface ResolveOptions {
  /** Hub endpoint for ids like "org/name" (default https://huggingface.co). */
  endpoint?: string;
  /** Hub branch, tag or commit (default "main"). */
  revision?: string;
  /** fetch implementation for URL and hub sources (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Hub access token for gated or private repositories, sent as `Authorization: Bearer …`. */
  token?: string;
  /**
   * The offline cache for URL and hub sources (folders and picked files are never cached):
   * true, false, or `{ dir }` (Node folder) / `{ name }` (Cache Storage name) / `{ store }`.
   * createEngine turns it on by default. resolveSource alone leaves it off unless given: a caching
   * source keeps what it downloads only when its finish(true) is called (a load does that).
   */
  cache?: CacheOption;
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
  model: string | ModelSource | File[] | FileList | DirectoryHandleLike,
  opts: ResolveOptions = {},
): Promise<ModelSource> {
  if (typeof model !== 'string') {
    if (isModelSource(model)) return model;
    if (isDirectoryHandle(model)) return directoryHandleSource(model);
    return fileListSource(Array.from(model as ArrayLike<File>));
  }
  const fetchImpl = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  if (/^https?:\/\//i.test(model)) {
    const base = model.replace(/\/+$/, '');
    return new HttpSource(model, base, requireFetch(fetchImpl, model), headers, undefined, await openCache(opts.cache, { kind: 'url', id: base, revision: '-' }));
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
      return new HttpSource(model, base, requireFetch(fetchImpl, model), headers, undefined, await openCache(opts.cache, { kind: 'url', id: base, revision: '-' }));
    }
    throw new ModelLoadError(`Model "${model}" looks like a local path, but there is no file system here; pass the files (File[]) or a URL.`);
  }
  if (isNode() && (await isDirectory(model))) return folderSource(model, model);
  if (HUB_ID.test(model) && !model.split('/').some((s) => s === '.' || s === '..')) {
    const endpoint = (opts.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    const revision = encodeURIComponent(opts.revision ?? 'main');
    const base = `${endpoint}/${model}/resolve/${revision}`;
    // blobs=true adds each file's size to the listing (siblings[].size).
    const listing = { url: `${endpoint}/api/models/${model}/revision/${revision}?blobs=true` };
    const cache = await openCache(opts.cache, { kind: 'hub', id: model, endpoint, revision: opts.revision ?? 'main' });
    return new HttpSource(model, base, requireFetch(fetchImpl, model), headers, listing, cache);
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

/** The parts of FileSystemDirectoryHandle (showDirectoryPicker, OPFS) a source needs. */
export interface DirectoryHandleLike {
  readonly kind: 'directory';
  readonly name: string;
  values(): AsyncIterable<{ kind: 'file'; name: string; getFile(): Promise<File> } | DirectoryHandleLike>;
}

function isDirectoryHandle(x: unknown): x is DirectoryHandleLike {
  const h = x as DirectoryHandleLike;
  return typeof h === 'object' && h !== null && h.kind === 'directory' && typeof h.values === 'function';
}

/** A folder from showDirectoryPicker() or OPFS: its files up to three folders deep, as picked files. */
export async function directoryHandleSource(handle: DirectoryHandleLike): Promise<ModelSource> {
  const rels: { rel: string; file: File }[] = [];
  const walk = async (dir: DirectoryHandleLike, prefix: string, depth: number): Promise<void> => {
    for await (const entry of dir.values()) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.kind === 'file') rels.push({ rel, file: await entry.getFile() });
      else if (depth < 3) await walk(entry, rel, depth + 1);
    }
  };
  await walk(handle, '', 1);
  if (rels.length === 0) throw new ModelLoadError(`resolveSource: the folder "${handle.name}" is empty.`);
  return FileListSource.fromEntries(rels, handle.name);
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

/** The cache entry of one URL or hub source, or undefined when caching is off or unavailable. */
async function openCache(opt: CacheOption | undefined, ref: CacheRef): Promise<ModelCache | undefined> {
  const store = await openCacheStore(opt ?? false);
  return store ? ModelCache.open(store, ref) : undefined;
}

function requireFetch(f: typeof fetch | undefined, model: string): typeof fetch {
  if (!f) throw new ModelLoadError(`Model "${model}": no fetch() in this environment; pass opts.fetch.`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Memory

/** A source over a map of path → file: in-memory bytes, or the files a user picked. */
abstract class MappedSource<V> extends BaseSource {
  constructor(
    id: string,
    protected readonly files: Map<string, V>,
    /** What the files are, for "not found in …" messages. */
    private readonly what: string,
  ) {
    super(id);
  }

  protected abstract sizeOf(file: V): number;

  async exists(path: string): Promise<boolean> {
    return this.files.has(checkPath(path, this.id));
  }

  async list(): Promise<FileEntry[]> {
    return [...this.files].map(([path, file]) => ({ path, size: this.sizeOf(file) }));
  }

  /** The file at `path`, or the typed not-found error. */
  protected file(path: string): V {
    const file = this.files.get(checkPath(path, this.id));
    if (file === undefined) throw missing(path, this.id, this.what);
    return file;
  }
}

class MemorySource extends MappedSource<Uint8Array> {
  constructor(id: string, files: Map<string, Uint8Array>) {
    super(id, files, 'in-memory files');
  }

  protected sizeOf(data: Uint8Array): number {
    return data.byteLength;
  }

  async bytes(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    throwIfAborted(signal);
    const data = this.file(path);
    onProgress?.(data.byteLength, data.byteLength);
    return data;
  }

  async stream(path: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const data = await this.bytes(path, signal, onProgress);
    return { body: bytesStream(data), size: data.byteLength };
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

  /** Every file up to three folders deep (a model's module folders are one deep). */
  async list(): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
      for (const entry of await this.fs.readdir(dir, { withFileTypes: true })) {
        const relPath = rel ? `${rel}/${entry.name}` : entry.name;
        const full = this.path.join(dir, entry.name);
        if (entry.isDirectory() && depth < 3) await walk(full, relPath, depth + 1);
        else if (entry.isFile()) out.push({ path: relPath, size: (await this.fs.stat(full)).size });
      }
    };
    try {
      await walk(this.root, '', 1);
    } catch (e) {
      throw new ModelLoadError(`Model "${this.id}": cannot list ${this.root}: ${(e as Error).message}`);
    }
    return out;
  }

  async bytes(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    const file = this.file(p);
    throwIfAborted(signal);
    let handle: Awaited<ReturnType<Fs['open']>> | undefined;
    try {
      // Read in chunks into one buffer of the file's size: progress per chunk, abort between chunks.
      handle = await this.fs.open(file, 'r');
      const { size } = await handle.stat();
      const out = new Uint8Array(size);
      let loaded = 0;
      while (loaded < size) {
        throwIfAborted(signal);
        const { bytesRead } = await handle.read(out, loaded, Math.min(READ_CHUNK, size - loaded), loaded);
        if (bytesRead === 0) throw new ModelLoadError(`Model "${this.id}": ${file} shrank while being read (${loaded} of ${size} bytes).`);
        loaded += bytesRead;
        onProgress?.(loaded, size);
      }
      if (size === 0) onProgress?.(0, 0);
      return out;
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw abortError(signal?.reason ?? e);
      if (e instanceof ModelLoadError) throw e;
      if (isMissingError(e)) throw missing(p, this.id, file);
      if ((e as { code?: string })?.code === 'EISDIR') throw new ModelLoadError(`Model "${this.id}": ${file} is a folder, not a file.`);
      throw new ModelLoadError(`Model "${this.id}": cannot read ${file}: ${(e as Error).message}`);
    } finally {
      await handle?.close();
    }
  }

  /** The file in READ_CHUNK pieces, each a fresh buffer (a consumer may keep or drop it). */
  async stream(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const file = this.file(p);
    throwIfAborted(signal);
    let handle: Awaited<ReturnType<Fs['open']>>;
    let size: number;
    try {
      handle = await this.fs.open(file, 'r');
      size = (await handle.stat()).size;
    } catch (e) {
      if (isMissingError(e)) throw missing(p, this.id, file);
      throw new ModelLoadError(`Model "${this.id}": cannot read ${file}: ${(e as Error).message}`);
    }
    let loaded = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        try {
          throwIfAborted(signal);
          if (loaded >= size) {
            await handle.close();
            if (size === 0) onProgress?.(0, 0);
            ctl.close();
            return;
          }
          const chunk = new Uint8Array(Math.min(READ_CHUNK, size - loaded));
          const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, loaded);
          if (bytesRead === 0) throw new ModelLoadError(`Model "${this.id}": ${file} shrank while being read (${loaded} of ${size} bytes).`);
          loaded += bytesRead;
          onProgress?.(loaded, size);
          ctl.enqueue(chunk.subarray(0, bytesRead));
        } catch (e) {
          await handle.close().catch(() => undefined);
          throw e;
        }
      },
      cancel: () => handle.close(),
    });
    return { body, size };
  }
}

/** Folder reads go in 4 MiB steps: small enough for smooth progress, big enough to cost nothing. */
const READ_CHUNK = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Browser files.

/**
 * Matches model paths against picked files. With `webkitRelativePath` ("picked/1_Pooling/config.json")
 * the first segment (the picked folder) is dropped; plain files (multi-select, drop) have just their
 * name, so only top-level paths can match them. The model root is the shallowest folder that holds
 * config.json, tokenizer.json, modules.json or the weights, so picking a parent of the model folder
 * works too; picking a folder that holds two models is an error naming both.
 */
class FileListSource extends MappedSource<File> {
  private constructor(id: string, files: Map<string, File>) {
    super(id, files, 'picked files');
  }

  protected sizeOf(file: File): number {
    return file.size;
  }

  static fromFiles(list: File[]): FileListSource {
    const rels = list.map((file) => {
      const rel = file.webkitRelativePath ? file.webkitRelativePath.split('/').slice(1).join('/') : file.name;
      return { rel, file };
    });
    const picked = list.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0];
    return FileListSource.fromEntries(rels, picked);
  }

  /** Files by their path inside the picked folder `picked`. */
  static fromEntries(rels: { rel: string; file: File }[], picked: string | undefined): FileListSource {
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

  async bytes(p: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<Uint8Array> {
    throwIfAborted(signal);
    const file = this.file(p);
    let data: ArrayBuffer;
    try {
      data = await file.arrayBuffer();
    } catch (e) {
      throw new ModelLoadError(`Model "${this.id}": cannot read picked file ${p}: ${(e as Error).message}`);
    }
    throwIfAborted(signal);
    onProgress?.(data.byteLength, data.byteLength);
    return new Uint8Array(data);
  }

  async stream(p: string, _signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const file = this.file(p);
    const fail = (why: string) => new ModelLoadError(`Model "${this.id}": picked file ${p} ${why}`);
    return { body: countedStream(file.stream() as ReadableStream<Uint8Array>, file.size, onProgress, fail), size: file.size };
  }
}
