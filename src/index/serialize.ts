// An index as bytes, and the model it belongs to.
//
// Layout (little-endian): the 8 ASCII bytes "WGPIDX01", a u32 header length L, L bytes of UTF-8
// JSON header, zero padding to a multiple of 4, then count × dimensions f32 unit rows. The header
// holds the format version, the model identity, dimensions, count, and per row id, metadata (JSON)
// and text. Vectors stay binary: 100k × 384 floats are 147 MiB of bytes but ~4× that as JSON.
//
// Model identity: model id, revision, dimensions, pooling, normalize, and the embedding of a fixed
// probe text. Names can lie (two folders called "model"; one model served from a folder and a URL),
// so loading with an engine embeds the probe again and compares: an index built with other weights
// fails loudly instead of returning nonsense neighbours, and the same weights under another name load.

import { BadRequestError } from '../gpu/errors';

export const INDEX_MAGIC = 'WGPIDX01';
export const INDEX_FORMAT_VERSION = 1;
const PROBE_TEXT = 'wgpool vector index probe: the quick brown fox jumps over the lazy dog';
/** Probe cosines below this mean different weights (same weights agree to ~1e-6). */
const PROBE_MIN_COSINE = 0.9999;

export interface ModelIdentity {
  model: string;
  revision: string | null;
  dimensions: number;
  pooling: string;
  normalize: boolean;
  /** The model's embedding of PROBE_TEXT at `dimensions` (a fingerprint of the weights). */
  probe: number[];
}

export interface IndexSnapshot {
  model: ModelIdentity | null;
  dimensions: number;
  ids: string[];
  metadata: unknown[];
  texts: (string | undefined)[];
  /** [ids.length, dimensions] unit rows. */
  vectors: Float32Array;
}

/** An index loaded with a model other than the one that built it. */
export class IndexModelMismatchError extends BadRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'IndexModelMismatchError';
  }
}

/** A byte string that is not a wgpool index (or a newer format). */
export class IndexFormatError extends BadRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'IndexFormatError';
  }
}

interface ProbeEngine {
  info: { model: string; embeddingSize: number; pooling: string; normalize: boolean };
  embed(input: string, opts: { dimensions?: number }): Promise<{ embeddings: unknown[] }>;
}

async function probe(engine: ProbeEngine, dims: number): Promise<number[]> {
  const r = await engine.embed(PROBE_TEXT, dims === engine.info.embeddingSize ? {} : { dimensions: dims });
  return Array.from(r.embeddings[0] as Float32Array);
}

export async function modelIdentity(engine: ProbeEngine, dims: number, revision: string | null): Promise<ModelIdentity> {
  return { model: engine.info.model, revision, dimensions: dims, pooling: engine.info.pooling, normalize: engine.info.normalize, probe: await probe(engine, dims) };
}

/** The snapshot's model, confirmed against `engine`; throws IndexModelMismatchError with what differs. */
export async function checkModel(snap: IndexSnapshot, engine: ProbeEngine, revision?: string | null): Promise<ModelIdentity> {
  const mine = await modelIdentity(engine, snap.dimensions, revision ?? snap.model?.revision ?? null);
  const theirs = snap.model;
  if (!theirs) throw new IndexModelMismatchError(`This index holds vectors without a model; load it without an engine (vector queries only).`);
  const diffs: string[] = [];
  if (revision !== undefined && revision !== null && theirs.revision !== null && theirs.revision !== revision) diffs.push(`revision ${theirs.revision} vs ${revision}`);
  if (theirs.pooling !== mine.pooling) diffs.push(`pooling ${theirs.pooling} vs ${mine.pooling}`);
  if (theirs.dimensions > engine.info.embeddingSize) diffs.push(`dimensions ${theirs.dimensions} vs the engine's ${engine.info.embeddingSize}`);
  {
    let dot = 0;
    for (let i = 0; i < mine.probe.length; i++) dot += mine.probe[i] * (theirs.probe[i] ?? 0);
    const n = Math.hypot(...mine.probe) * Math.hypot(...theirs.probe);
    const cos = n ? dot / n : 0;
    if (!(cos >= PROBE_MIN_COSINE)) {
      diffs.push(`${theirs.model === mine.model ? 'the same name, but ' : ''}the weights differ (probe embedding cosine ${cos.toFixed(4)})`);
    }
  }
  if (diffs.length) {
    throw new IndexModelMismatchError(
      `This index was built with model "${theirs.model}"${theirs.revision ? `@${theirs.revision}` : ''} (${theirs.dimensions} dims, ${theirs.pooling} pooling) and cannot be searched with "${mine.model}": ${diffs.join('; ')}. Rebuild the index with this model.`,
    );
  }
  return theirs;
}

export function encodeIndex(s: IndexSnapshot): ArrayBuffer {
  const header = {
    format: 'wgpool-index',
    version: INDEX_FORMAT_VERSION,
    model: s.model,
    dimensions: s.dimensions,
    count: s.ids.length,
    ids: s.ids,
    metadata: s.metadata.map((m) => (m === undefined ? null : m)),
    texts: s.texts.map((t) => (t === undefined ? null : t)),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  if (s.vectors.length !== s.ids.length * s.dimensions) throw new IndexFormatError(`snapshot has ${s.vectors.length} floats for ${s.ids.length} rows × ${s.dimensions}`);
  const out = new ArrayBuffer(start + s.vectors.byteLength);
  const bytes = new Uint8Array(out);
  bytes.set(new TextEncoder().encode(INDEX_MAGIC), 0);
  new DataView(out).setUint32(8, json.length, true);
  bytes.set(json, 12);
  new Float32Array(out, start, s.vectors.length).set(s.vectors);
  return out;
}

export function decodeIndex(input: ArrayBuffer | Uint8Array): IndexSnapshot {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== INDEX_MAGIC) throw new IndexFormatError('Not a wgpool index (no WGPIDX01 header).');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const L = view.getUint32(8, true);
  if (12 + L > bytes.length) throw new IndexFormatError(`Truncated wgpool index: header of ${L} bytes in ${bytes.length}.`);
  let h: { format?: string; version?: number; model: ModelIdentity | null; dimensions: number; count: number; ids: string[]; metadata: unknown[]; texts: (string | null)[] };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + L)));
  } catch (e) {
    throw new IndexFormatError(`Corrupt wgpool index header: ${(e as Error).message}`);
  }
  if (h.format !== 'wgpool-index') throw new IndexFormatError('Not a wgpool index (header format field).');
  if (h.version !== INDEX_FORMAT_VERSION) throw new IndexFormatError(`wgpool index format version ${h.version}; this wgpool reads version ${INDEX_FORMAT_VERSION}.`);
  const start = Math.ceil((12 + L) / 4) * 4;
  const floats = h.count * h.dimensions;
  if (!Array.isArray(h.ids) || h.ids.length !== h.count || start + floats * 4 > bytes.length) {
    throw new IndexFormatError(`Truncated wgpool index: ${h.count} rows × ${h.dimensions} dims need ${start + floats * 4} bytes, got ${bytes.length}.`);
  }
  // Copy so the rows are 4-byte aligned whatever the input's offset.
  const vectors = new Float32Array(floats);
  new Uint8Array(vectors.buffer).set(bytes.subarray(start, start + floats * 4));
  return {
    model: h.model,
    dimensions: h.dimensions,
    ids: h.ids,
    metadata: (h.metadata ?? []).map((m) => (m === null ? undefined : m)),
    texts: (h.texts ?? []).map((t) => (t === null ? undefined : t)),
    vectors,
  };
}
