// The CPU backend's kernels at the two ends of a forward pass: the embedding gather that builds the
// hidden states from token ids, and the pooled vector's way out — pooling over each segment, L2
// normalize with matryoshka slicing, bit packing (src/kernels/embedding.ts, pool.ts,
// l2_normalize.ts, quantize_bits.ts).

import { GpuError, InternalError } from '../gpu/errors';
import type { EmbeddingBuffers, EmbeddingShape } from '../kernels/embedding';
import type { L2NormalizeBuffers, L2NormalizeShape } from '../kernels/l2_normalize';
import type { PoolBuffers, PoolShape } from '../kernels/pool';
import type { QuantizeBitsBuffers, QuantizeBitsShape } from '../kernels/quantize_bits';
import type { CpuContext } from './context';
import { checkCounts, checkSizes, opt, ptr, xOutStep } from './kernel_checks';
import { cpuBuffer } from './memory';
import { CpuStep } from './step';

export class EmbeddingCpu {
  constructor(private readonly ctx: CpuContext, readonly positions: boolean, readonly tokenTypes: boolean) {}

  bind(b: EmbeddingBuffers, label = 'embedding'): CpuStep<EmbeddingShape> {
    if (this.positions && (!b.positions || !b.position)) throw new GpuError(`${label}: positions and position table required`);
    if (this.tokenTypes && (!b.tokenTypes || !b.tokenType)) throw new GpuError(`${label}: tokenTypes and tokenType table required`);
    const ids = cpuBuffer(b.ids, label, 'ids');
    const word = cpuBuffer(b.word, label, 'word');
    const out = cpuBuffer(b.out, label, 'out');
    const positions = this.positions ? opt(b.positions, label, 'positions') : null;
    const position = this.positions ? opt(b.position, label, 'position') : null;
    const types = this.tokenTypes ? opt(b.tokenTypes, label, 'tokenTypes') : null;
    const tokenType = this.tokenTypes ? opt(b.tokenType, label, 'tokenType') : null;
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<EmbeddingShape> {
      protected override check(s: EmbeddingShape) {
        checkCounts(label, s);
        if (s.vocab < 1) throw new GpuError(`${label}: vocab must be ≥ 1`);
        if (position && s.maxPositions < 1) throw new GpuError(`${label}: maxPositions must be ≥ 1`);
        if (tokenType && s.typeVocab < 1) throw new GpuError(`${label}: typeVocab must be ≥ 1`);
        const { tokens: T, hidden: H } = s;
        checkSizes(label, [['ids', ids, T * 4], ['positions', positions, T * 4], ['tokenTypes', types, T * 4], ['word', word, s.vocab * H * 4], ['position', position, s.maxPositions * H * 4], ['tokenType', tokenType, s.typeVocab * H * 4], ['out', out, T * H * 4]]);
      }
      protected execute(s: EmbeddingShape) {
        wasm.embedding(ids.ptr, ptr(positions), ptr(types), word.ptr, ptr(position), ptr(tokenType), out.ptr, s.hidden, s.vocab, s.maxPositions, s.typeVocab, 0, s.tokens);
      }
    })(label);
  }
}

export class PoolCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: PoolBuffers, label = 'pool'): CpuStep<PoolShape> {
    const [hidden, cu, modes, out] = [cpuBuffer(b.hidden, label, 'hidden'), cpuBuffer(b.cuSeqLens, label, 'cuSeqLens'), cpuBuffer(b.modes, label, 'modes'), cpuBuffer(b.out, label, 'out')];
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<PoolShape> {
      protected override check(s: PoolShape) {
        checkSizes(label, [['cuSeqLens', cu, (s.batch + 1) * 4], ['modes', modes, s.batch * 4], ['out', out, s.batch * s.hidden * 4]]);
      }
      protected execute(s: PoolShape) {
        wasm.pool(hidden.ptr, cu.ptr, modes.ptr, out.ptr, s.batch, s.hidden);
      }
    })(label);
  }
}

export class L2NormalizeCpu {
  constructor(private readonly ctx: CpuContext, readonly normalize: boolean) {}

  bind(b: L2NormalizeBuffers, label = 'l2_normalize'): CpuStep<L2NormalizeShape> {
    const { ctx, normalize } = this;
    const bytes = (s: L2NormalizeShape): [number, number] => {
      if (s.dims > s.inStride || s.dims > s.outStride) throw new InternalError(`${label}: dims ${s.dims} exceeds a row stride (in ${s.inStride}, out ${s.outStride})`);
      const last = s.rowOffset + s.rows - 1;
      return s.rows > 0 ? [(last * s.inStride + s.dims) * 4, (last * s.outStride + s.dims) * 4] : [0, 0];
    };
    return xOutStep<L2NormalizeShape>(label, b, bytes, (x, out, s) => ctx.wasm.l2Normalize(x, out, s.rows, s.rowOffset, s.dims, s.inStride, s.outStride, normalize ? 1 : 0));
  }
}

export class QuantizeBitsCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: QuantizeBitsBuffers, label = 'quantize_bits'): CpuStep<QuantizeBitsShape> {
    const wasm = this.ctx.wasm;
    const bytes = (s: QuantizeBitsShape): [number, number] => (s.rows > 0 ? [((s.rows - 1) * s.inStride + s.dims) * 4, Math.ceil((s.rows * Math.ceil(s.dims / 8)) / 4) * 4] : [0, 0]);
    return xOutStep<QuantizeBitsShape>(label, b, bytes, (x, out, s) => wasm.quantizeBits(x, out, s.rows, s.dims, s.inStride));
  }
}
