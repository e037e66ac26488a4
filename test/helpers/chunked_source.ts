// Test doubles for the streaming upload: a safetensors file built from raw tensor bytes, and a
// source whose stream() delivers each file in fixed-size pieces (or pieces of the sizes a function
// gives), like a network body whose chunk boundaries fall anywhere.
import type { Dtype } from '../../src/loading/safetensors';
import { BaseSource, type FileStream, type ProgressFn } from '../../src/loading/source_base';

/** A safetensors file from tensors given as raw bytes, laid out in order with optional gaps. */
export function safetensors(tensors: { name: string; dtype: Dtype; shape: number[]; bytes: Uint8Array; gap?: number }[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const t of tensors) {
    off += t.gap ?? 0;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.byteLength] };
    off += t.bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + off);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  off = 0;
  for (const t of tensors) {
    off += t.gap ?? 0;
    out.set(t.bytes, 8 + json.byteLength + off);
    off += t.bytes.byteLength;
  }
  return out;
}

/**
 * A source test double whose stream() delivers each file in `chunk`-byte pieces (a function: the
 * size of each next piece); `cut` ends a body early, `hang` never ends it.
 */
export class ChunkedSource extends BaseSource {
  constructor(
    private readonly files: Record<string, Uint8Array>,
    private readonly chunk: number | (() => number),
    private readonly opts: { cut?: number; hang?: boolean; announce?: boolean } = {},
  ) {
    super('chunked');
  }
  async exists(p: string) {
    return p in this.files;
  }
  async bytes(p: string) {
    return this.files[p];
  }
  async stream(p: string, _signal?: AbortSignal, onProgress?: ProgressFn): Promise<FileStream> {
    const data = this.files[p].subarray(0, this.opts.cut ?? this.files[p].byteLength);
    let off = 0;
    const { chunk, opts } = this;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (off >= data.byteLength) {
          if (opts.hang) return new Promise<void>(() => undefined);
          ctl.close();
          return;
        }
        const piece = data.slice(off, off + (typeof chunk === 'number' ? chunk : Math.max(1, chunk()))); // a fresh, unaligned-offset-free copy, like a network chunk
        off += piece.byteLength;
        onProgress?.(off, data.byteLength);
        ctl.enqueue(piece);
      },
    });
    return { body, size: opts.announce === false ? undefined : this.files[p].byteLength };
  }
}

