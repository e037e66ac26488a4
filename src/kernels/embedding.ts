// Typed wrapper for shaders/embedding.wgsl: word (+ position) (+ token type) embedding gather for a
// packed batch of tokens. The tables are stored f32 or f16 (`tableDtype`, one WGSL source: see
// src/gpu/storage_dtype.ts); the output is f32.

import source from '../../shaders/embedding.wgsl?raw';
import { Bound, type Gpu } from '../gpu/context';
import { GpuError } from '../gpu/errors';
import type { CompiledKernel, ShaderSpec } from '../gpu/pipelines';
import { dtypeBytes, withWeightType, type StorageDtype } from '../gpu/storage_dtype';

export const EMBEDDING: ShaderSpec = {
  file: 'embedding.wgsl',
  source,
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'storage'],
};

/** Workgroups per grid dimension that every WebGPU device accepts. */
const MAX_GRID = 65535;

export interface EmbeddingOptions {
  /** Add position[positions[t]] (BERT-like absolute positions; off for RoPE models such as Qwen3). */
  positions: boolean;
  /** Add tokenType[tokenTypes[t]] (BERT's token_type_embeddings). */
  tokenTypes: boolean;
  /** Threads per token. */
  workgroupSize?: number;
  /** How word, position and token-type tables are stored: 'f32' (default) or 'f16' (shader-f16). */
  tableDtype?: StorageDtype;
}

export interface EmbeddingBuffers {
  /** [T] u32 token ids. */
  ids: GPUBuffer;
  /** [T] u32, required with `positions: true`. */
  positions?: GPUBuffer;
  /** [T] u32, required with `tokenTypes: true`. */
  tokenTypes?: GPUBuffer;
  /** [vocab, hidden], in the kernel's tableDtype. */
  word: GPUBuffer;
  /** [maxPositions, hidden] f32, required with `positions: true`. */
  position?: GPUBuffer;
  /** [typeVocab, hidden] f32, required with `tokenTypes: true`. */
  tokenType?: GPUBuffer;
  /** [T, hidden] f32. */
  out: GPUBuffer;
}

export interface EmbeddingShape {
  tokens: number;
  hidden: number;
  vocab: number;
  /** Rows of the position table (ignored without positions). */
  maxPositions: number;
  /** Rows of the token-type table (ignored without token types). */
  typeVocab: number;
}

/**
 * Ids past a table's end are clamped to its last row on the GPU (never an out-of-bounds read);
 * callers validate ids on the CPU before upload, e.g. with `checkIds`.
 */
export class EmbeddingKernel {
  private constructor(
    private readonly gpu: Gpu,
    private readonly kernel: CompiledKernel,
    readonly positions: boolean,
    readonly tokenTypes: boolean,
    readonly tableDtype: StorageDtype,
  ) {}

  static async create(gpu: Gpu, opts: EmbeddingOptions): Promise<EmbeddingKernel> {
    const cpu = gpu.cpuKernel<EmbeddingKernel>('embedding', opts); // the CPU backend's twin (src/cpu/gather_kernels.ts)
    if (cpu) return cpu;
    const tableDtype = opts.tableDtype ?? 'f32';
    if (tableDtype === 'f16' && !gpu.hasF16) throw new GpuError('embedding: f16 tables need the shader-f16 feature, which this device lacks');
    const kernel = await gpu.pipelines.get(withWeightType(EMBEDDING, tableDtype), {
      WG: opts.workgroupSize ?? 64,
      HAS_POSITIONS: opts.positions,
      HAS_TYPES: opts.tokenTypes,
    });
    return new EmbeddingKernel(gpu, kernel, opts.positions, opts.tokenTypes, tableDtype);
  }

  bind(b: EmbeddingBuffers, label = 'embedding'): Bound<EmbeddingShape> {
    if (this.positions && (!b.positions || !b.position)) throw new GpuError(`${label}: positions and position table required`);
    if (this.tokenTypes && (!b.tokenTypes || !b.tokenType)) throw new GpuError(`${label}: tokenTypes and tokenType table required`);
    const tables: [string, GPUBuffer | undefined][] = [['word', b.word], ['position', this.positions ? b.position : undefined], ['tokenType', this.tokenTypes ? b.tokenType : undefined]];
    for (const [name, buf] of tables) {
      if (buf && this.gpu.dtypeOf(buf) !== this.tableDtype) throw new GpuError(`${label}: ${name} is stored as ${this.gpu.dtypeOf(buf)}, but this kernel reads ${this.tableDtype} tables`);
    }
    const tb = dtypeBytes(this.tableDtype);
    // A disabled binding still needs a buffer; ids and word are read-only, so binding them again is valid.
    const d = this.gpu.dispatch(
      this.kernel,
      [b.ids, b.positions ?? b.ids, b.tokenTypes ?? b.ids, b.word, b.position ?? b.word, b.tokenType ?? b.word, b.out],
      20,
      label,
    );
    return new Bound(d, (s: EmbeddingShape) => {
      const { tokens, hidden, vocab, maxPositions, typeVocab } = s;
      for (const [name, v] of Object.entries(s)) {
        if (!Number.isInteger(v) || v < 0) throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
      }
      // The shader clamps to (rows − 1), which needs at least one row.
      if (vocab < 1) throw new GpuError(`${label}: vocab must be ≥ 1`);
      if (this.positions && maxPositions < 1) throw new GpuError(`${label}: maxPositions must be ≥ 1`);
      if (this.tokenTypes && typeVocab < 1) throw new GpuError(`${label}: typeVocab must be ≥ 1`);
      const need: [string, GPUBuffer | undefined, number][] = [
        ['ids', b.ids, tokens * 4],
        ['positions', this.positions ? b.positions : undefined, tokens * 4],
        ['tokenTypes', this.tokenTypes ? b.tokenTypes : undefined, tokens * 4],
        ['word', b.word, vocab * hidden * tb],
        ['position', this.positions ? b.position : undefined, maxPositions * hidden * tb],
        ['tokenType', this.tokenTypes ? b.tokenType : undefined, typeVocab * hidden * tb],
        ['out', b.out, tokens * hidden * 4],
      ];
      for (const [name, buf, bytes] of need) {
        if (buf && buf.size < bytes) throw new GpuError(`${label}: ${name} holds ${buf.size} bytes, needs ${bytes}`);
      }
      return {
        fields: [['u32', tokens], ['u32', hidden], ['u32', vocab], ['u32', maxPositions], ['u32', typeVocab]],
        workgroups: [Math.min(tokens, MAX_GRID), Math.ceil(tokens / MAX_GRID)],
      };
    });
  }
}

/** Throw unless every id is an integer in [0, rows) — the CPU-side check the GPU clamp backs up. */
export function checkIds(ids: ArrayLike<number>, rows: number, what = 'token id'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= rows) {
      throw new GpuError(`${what} ${id} at index ${i} is outside [0, ${rows})`);
    }
  }
}
