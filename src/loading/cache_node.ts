// The offline cache's store in Node: a folder, one file per key. The default folder is
// $WGPOOL_CACHE_DIR, else $XDG_CACHE_HOME/wgpool, else ~/.cache/wgpool (%LOCALAPPDATA%\wgpool on
// Windows). Every write goes to `<file>.tmp-<random>` and is renamed into place when complete, so
// a crash or a full disk leaves a stray temp file, never a short entry under a real name.
//
// node:fs and friends are imported through variables, and cache.ts imports this file dynamically
// in Node only, so browser bundles neither include nor try to resolve any of it.

import { InternalError } from '../gpu/errors';
import type { CacheStore, EntryWriter, StoredBody } from './cache_store';

const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_OS = 'node:os';

type Fs = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');
type FileHandle = Awaited<ReturnType<Fs['open']>>;

/** Cached files are read back in 4 MiB steps. */
const READ_CHUNK = 4 * 1024 * 1024;

/** The folder the cache uses when none is given. */
export async function defaultCacheDir(env: Record<string, string | undefined> = process.env): Promise<string> {
  const [path, os] = await Promise.all([import(/* @vite-ignore */ NODE_PATH), import(/* @vite-ignore */ NODE_OS)]) as [NodePath, typeof import('node:os')];
  if (env.WGPOOL_CACHE_DIR) return path.resolve(env.WGPOOL_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'wgpool');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'wgpool');
  return path.join(os.homedir(), '.cache', 'wgpool');
}

export async function nodeCacheStore(dir?: string): Promise<CacheStore> {
  const [fs, path] = (await Promise.all([import(/* @vite-ignore */ NODE_FS), import(/* @vite-ignore */ NODE_PATH)])) as [Fs, NodePath];
  return new FolderStore(path.resolve(dir ?? (await defaultCacheDir())), fs, path);
}

const isMissing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as { code?: string })?.code ?? '');
const tempName = (file: string) => `${file}.tmp-${Math.random().toString(36).slice(2, 10)}`;
const TEMP = /\.tmp-[a-z0-9]+$/;

class FolderStore implements CacheStore {
  constructor(
    readonly location: string,
    private readonly fs: Fs,
    private readonly path: NodePath,
  ) {}

  private file(key: string): string {
    const segs = key.split('/').filter((s) => s !== '');
    if (segs.some((s) => s === '.' || s === '..')) throw new InternalError(`bad cache key ${JSON.stringify(key)}`);
    return this.path.join(this.location, ...segs);
  }

  async read(key: string): Promise<StoredBody | null> {
    let handle: FileHandle;
    try {
      handle = await this.fs.open(this.file(key), 'r');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (e) {
      await handle.close();
      throw e;
    }
    let pos = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const buf = new Uint8Array(Math.min(READ_CHUNK, Math.max(size - pos, 1)));
          const { bytesRead } = await handle.read(buf, 0, buf.byteLength, pos);
          if (bytesRead === 0) {
            await close();
            ctl.close();
            return;
          }
          pos += bytesRead;
          ctl.enqueue(bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead));
        } catch (e) {
          await close().catch(() => undefined);
          ctl.error(e);
        }
      },
      cancel: () => close(),
    }, { highWaterMark: 0 });
    return { body, size };
  }

  async write(key: string): Promise<EntryWriter> {
    const file = this.file(key);
    await this.fs.mkdir(this.path.dirname(file), { recursive: true });
    const tmp = tempName(file);
    const handle = await this.fs.open(tmp, 'w');
    let open = true;
    const { fs } = this;
    return {
      async write(chunk) {
        let off = 0;
        while (off < chunk.byteLength) off += (await handle.write(chunk, off, chunk.byteLength - off)).bytesWritten;
      },
      async close() {
        open = false;
        try {
          await handle.close();
          await fs.rename(tmp, file);
        } catch (e) {
          await fs.rm(tmp, { force: true }).catch(() => undefined);
          throw e;
        }
      },
      async abort() {
        if (open) {
          open = false;
          await handle.close().catch(() => undefined);
        }
        await fs.rm(tmp, { force: true }).catch(() => undefined);
      },
    };
  }

  async readJson<T>(key: string): Promise<T | null> {
    try {
      return JSON.parse(await this.fs.readFile(this.file(key), 'utf8')) as T;
    } catch (e) {
      if (isMissing(e) || e instanceof SyntaxError) return null;
      throw e;
    }
  }

  async writeJson(key: string, value: unknown): Promise<void> {
    const file = this.file(key);
    await this.fs.mkdir(this.path.dirname(file), { recursive: true });
    const tmp = tempName(file);
    try {
      await this.fs.writeFile(tmp, JSON.stringify(value));
      await this.fs.rename(tmp, file);
    } catch (e) {
      await this.fs.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async keys(prefix: string): Promise<string[]> {
    // Walk from the deepest folder the prefix names.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await this.fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isMissing(e)) return;
        throw e;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(this.path.join(dir, e.name), key);
        else if (e.isFile() && !TEMP.test(e.name) && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(dirKey ? this.file(dirKey) : this.location, dirKey);
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.fs.rm(this.file(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    // Never the whole folder: it may be one the user named, holding other things.
    if (prefix === '') throw new InternalError('refusing to delete the whole cache folder');
    if (prefix.endsWith('/')) {
      await this.fs.rm(this.file(prefix), { recursive: true, force: true });
      return;
    }
    for (const key of await this.keys(prefix)) await this.delete(key);
  }
}
