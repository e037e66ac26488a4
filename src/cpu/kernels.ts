// The CPU backend's kernel wrappers: for every WGSL wrapper in src/kernels/ (same name, same
// options, same buffers and shapes), a WebAssembly implementation whose bind() returns a CpuStep.
// gpu.cpuKernel(name, opts) on a CpuContext lands here; each src/kernels/*.ts create() asks first.
// Shape errors match the WGSL wrappers' so callers see one behaviour on both backends.

import { GpuError, InternalError } from '../gpu/errors';
import { REL_BIAS_BUCKETS, type AttentionBuffers, type AttentionOptions, type AttentionShape } from '../kernels/attention';
import type { GluActivation, GluBuffers, GluOptions, GluShape } from '../kernels/glu';
import type { EmbeddingBuffers, EmbeddingOptions, EmbeddingShape } from '../kernels/embedding';
import type { L2NormalizeBuffers, L2NormalizeOptions, L2NormalizeShape } from '../kernels/l2_normalize';
import type { LayerNormBuffers, LayerNormOptions, LayerNormShape } from '../kernels/layer_norm';
import type { Activation, MatmulBuffers, MatmulOptions, MatmulShape } from '../kernels/matmul';
import type { PoolBuffers, PoolShape } from '../kernels/pool';
import type { QuantizeBitsBuffers, QuantizeBitsShape } from '../kernels/quantize_bits';
import type { RmsNormBuffers, RmsNormOptions, RmsNormShape } from '../kernels/rms_norm';
import { ropeInverseFrequencies, type RopeBuffers, type RopeOptions, type RopeShape } from '../kernels/rope';
import type { SigmoidBuffers, SigmoidShape } from '../kernels/sigmoid';
import type { SiluMulBuffers, SiluMulShape } from '../kernels/silu_mul';
import type { SoftmaxBuffers, SoftmaxShape } from '../kernels/softmax';
import type { CpuContext } from './context';
import { CpuBuffer, cpuBuffer } from './memory';
import { headParts, matmulParts } from './split';
import { SEARCH_FACTORIES } from './search_kernels';
import { CpuStep } from './step';

const ACT: Record<Activation, number> = { none: 0, gelu: 1, silu: 2, tanh: 3, relu: 4 };
const GLU_ACT: Record<GluActivation, number> = { silu: 0, gelu: 1, gelu_tanh: 2 };

type Need = [name: string, buf: CpuBuffer | null, bytes: number];

/** Every buffer holds what the shape reads or writes (WebGPU would clamp silently; say what is wrong). */
function checkSizes(label: string, need: readonly Need[]): void {
  for (const [name, buf, bytes] of need) {
    if (buf && buf.size < bytes) throw new GpuError(`${label}: ${name} holds ${buf.size} bytes, needs ${bytes}`);
  }
}

function checkCounts(label: string, s: object): void {
  for (const [name, v] of Object.entries(s)) {
    if (typeof v === 'number' && name !== 'eps' && name !== 'scale' && name !== 'theta' && (!Number.isInteger(v) || v < 0)) {
      throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
    }
  }
}

const opt = (b: GPUBuffer | undefined, label: string, what: string) => (b ? cpuBuffer(b, label, what) : null);
const ptr = (b: CpuBuffer | null) => (b ? b.ptr : 0);

/** Scratch memory shared by the steps of a context (steps run one at a time; a split step carves it per thread). */
class Scratch {
  private buf: CpuBuffer | undefined;
  constructor(private readonly ctx: CpuContext) {}
  get(bytes: number): number {
    if (!this.buf || this.buf.size < bytes) {
      this.buf?.destroy();
      this.buf = this.ctx.mem.alloc(Math.max(4096, 2 ** Math.ceil(Math.log2(bytes))), 'cpu.scratch');
    }
    return this.buf.ptr;
  }
}
const scratches = new WeakMap<CpuContext, Scratch>();
function scratch(ctx: CpuContext, bytes: number): number {
  let s = scratches.get(ctx);
  if (!s) scratches.set(ctx, (s = new Scratch(ctx)));
  return s.get(bytes);
}

// -------------------------------------------------------------------------------------------------

class MatmulCpu {
  readonly variant = 'cpu';
  constructor(private readonly ctx: CpuContext, readonly bias: boolean, readonly activation: Activation, readonly residual: boolean) {}

  /** W packed into 8-column panels once, kept with the weight buffer (freed with it). */
  private packed(w: CpuBuffer, N: number, K: number): CpuBuffer {
    const p = w.packed;
    if (p && p.n === N && p.k === K) return p.buffer;
    p?.buffer.destroy();
    const buffer = this.ctx.mem.alloc(Math.ceil(N / 8) * 8 * K * 4, `${w.label}.packed`);
    this.ctx.wasm.packWeights(w.ptr, buffer.ptr, N, K);
    w.packed = { n: N, k: K, buffer };
    return buffer;
  }

  bind(b: MatmulBuffers, label = 'matmul_cpu'): CpuStep<MatmulShape> {
    if (this.bias && !b.bias) throw new GpuError(`${label}: bias buffer required`);
    if (this.residual && !b.residual) throw new GpuError(`${label}: residual buffer required`);
    if (b.residual === b.y) throw new GpuError(`${label}: residual may not be y (a buffer cannot be bound read-only and writable at once)`);
    const x = cpuBuffer(b.x, label, 'x');
    const w = cpuBuffer(b.w, label, 'w');
    const bias = this.bias ? opt(b.bias, label, 'bias') : null;
    const res = this.residual ? opt(b.residual, label, 'residual') : null;
    const y = cpuBuffer(b.y, label, 'y');
    const k = this;
    return new (class extends CpuStep<MatmulShape> {
      protected override check(s: MatmulShape) {
        checkCounts(label, s);
        const { M, N, K } = s;
        checkSizes(label, [['x', x, M * K * 4], ['w', w, N * K * 4], ['bias', bias, N * 4], ['residual', res, M * N * 4], ['y', y, M * N * 4]]);
      }
      protected execute({ M, N, K }: MatmulShape) {
        if (M === 0 || N === 0) return;
        const packed = k.packed(w, N, K);
        const act = ACT[k.activation];
        return k.ctx.parallel('matmul', matmulParts(k.ctx, M, N, K, (m0, m1, p0, p1) => [x.ptr, packed.ptr, ptr(bias), ptr(res), y.ptr, M, N, K, act, m0, m1, p0, p1]));
      }
    })(label);
  }
}

class LayerNormCpu {
  constructor(private readonly ctx: CpuContext, readonly residual: boolean) {}

  bind(b: LayerNormBuffers, label = 'layer_norm'): CpuStep<LayerNormShape> {
    if (this.residual && !b.residual) throw new InternalError(`${label}: residual buffer required`);
    const [x, gamma, beta, y] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.gamma, label, 'gamma'), cpuBuffer(b.beta, label, 'beta'), cpuBuffer(b.y, label, 'y')];
    const res = this.residual ? opt(b.residual, label, 'residual') : null;
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<LayerNormShape> {
      protected override check(s: LayerNormShape) {
        checkSizes(label, [['x', x, s.rows * s.n * 4], ['residual', res, s.rows * s.n * 4], ['gamma', gamma, s.n * 4], ['beta', beta, s.n * 4], ['y', y, s.rows * s.n * 4]]);
      }
      protected execute(s: LayerNormShape) {
        wasm.layerNorm(x.ptr, ptr(res), gamma.ptr, beta.ptr, y.ptr, s.n, s.eps, 0, s.rows);
      }
    })(label);
  }
}

class RmsNormCpu {
  constructor(private readonly ctx: CpuContext, readonly unitOffset: boolean, readonly residual: boolean) {}

  bind(b: RmsNormBuffers, label = 'rms_norm'): CpuStep<RmsNormShape> {
    if (this.residual && !b.residual) throw new InternalError(`${label}: residual buffer required`);
    const [x, w, y] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.w, label, 'w'), cpuBuffer(b.y, label, 'y')];
    const res = this.residual ? opt(b.residual, label, 'residual') : null;
    const { ctx, unitOffset } = this;
    return new (class extends CpuStep<RmsNormShape> {
      protected override check(s: RmsNormShape) {
        checkSizes(label, [['x', x, s.rows * s.n * 4], ['residual', res, s.rows * s.n * 4], ['w', w, s.n * 4], ['y', y, s.rows * s.n * 4]]);
      }
      protected execute(s: RmsNormShape) {
        ctx.wasm.rmsNorm(x.ptr, ptr(res), w.ptr, y.ptr, s.n, s.eps, unitOffset ? 1 : 0, 0, s.rows);
      }
    })(label);
  }
}

class AttentionCpu {
  constructor(private readonly ctx: CpuContext, readonly headDim: number, readonly causal: boolean, readonly relativeBias: boolean) {}

  bind(b: AttentionBuffers, label = 'attention'): CpuStep<AttentionShape> {
    if (this.relativeBias && !b.relBias) throw new InternalError(`${label}: relBias buffer required (created with relativeBias)`);
    const [q, k, v, cu, out] = [cpuBuffer(b.q, label, 'q'), cpuBuffer(b.k, label, 'k'), cpuBuffer(b.v, label, 'v'), cpuBuffer(b.cuSeqLens, label, 'cuSeqLens'), cpuBuffer(b.out, label, 'out')];
    const relBias = this.relativeBias ? opt(b.relBias, label, 'relBias') : null;
    const { ctx, headDim: hd, causal } = this;
    return new (class extends CpuStep<AttentionShape> {
      protected override check(s: AttentionShape) {
        const window = s.window ?? 0;
        if (!Number.isInteger(window) || window < 0 || window > 0x7fffffff) throw new InternalError(`${label}: window ${window} must be a non-negative integer`);
        if (s.numKvHeads < 1 || s.numHeads % s.numKvHeads !== 0) {
          throw new InternalError(`${label}: numHeads ${s.numHeads} is not a multiple of numKvHeads ${s.numKvHeads}`);
        }
        for (const [name, offset, heads, stride] of [
          ['q', s.qOffset, s.numHeads, s.qStride],
          ['k', s.kOffset, s.numKvHeads, s.kStride],
          ['v', s.vOffset, s.numKvHeads, s.vStride],
        ] as const) {
          if (offset + heads * hd > stride) throw new InternalError(`${label}: ${name} heads [${offset}, ${offset + heads * hd}) overrun the row stride ${stride}`);
        }
        const T = s.tokens;
        checkSizes(label, [['q', q, T * s.qStride * 4], ['k', k, T * s.kStride * 4], ['v', v, T * s.vStride * 4], ['out', out, T * s.numHeads * hd * 4], ['relBias', relBias, REL_BIAS_BUCKETS * s.numHeads * 4]]);
      }
      protected execute(s: AttentionShape) {
        // The batch is the cuSeqLens prefix up to the token count (entries past it are stale
        // capacity); seqOf is the GPU kernel's per-thread view of the same segments.
        const cuAll = new Uint32Array(ctx.mem.memory.buffer, cu.ptr, cu.size / 4);
        let batch = 0;
        let longest = 0;
        let pairs = 0;
        while (batch + 1 < cuAll.length && cuAll[batch] < s.tokens) {
          const len = cuAll[batch + 1] - cuAll[batch];
          if (cuAll[batch + 1] > s.tokens || len < 0) throw new GpuError(`${label}: cuSeqLens[${batch + 1}] = ${cuAll[batch + 1]} is not in [${cuAll[batch]}, ${s.tokens}]`);
          longest = Math.max(longest, len);
          pairs += len * len;
          batch++;
        }
        // One scratch row (the longest segment's scores) per thread, 64-byte apart.
        const row = Math.ceil(Math.max(16, longest * 4) / 64) * 64;
        const sc = scratch(ctx, row * ctx.threads);
        const causalFlag = causal ? 1 : 0;
        const window = s.window ?? 0;
        return ctx.parallel('attention', headParts(ctx, s.numHeads, 4 * pairs * hd * s.numHeads, (part, h0, h1) => [
          q.ptr, k.ptr, v.ptr, cu.ptr, out.ptr, sc + part * row, ptr(relBias), batch, s.numHeads, s.numKvHeads,
          s.qStride, s.kStride, s.vStride, s.qOffset, s.kOffset, s.vOffset, hd, s.scale, causalFlag, window, h0, h1,
        ]));
      }
    })(label);
  }
}

class EmbeddingCpu {
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

class RopeCpu {
  constructor(private readonly ctx: CpuContext, readonly norm: boolean, readonly normUnitOffset: boolean, readonly headDim: number) {}

  bind(b: RopeBuffers, label = 'rope'): CpuStep<RopeShape> {
    if (this.norm && !b.normWeight) throw new InternalError(`${label}: normWeight buffer required`);
    const x = cpuBuffer(b.x, label, 'x');
    const positions = cpuBuffer(b.positions, label, 'positions');
    const normW = this.norm ? opt(b.normWeight, label, 'normWeight') : null;
    const { ctx, headDim: hd, normUnitOffset } = this;
    // inv_freq in float64 from the WGSL wrapper's own formula (HF's theta^(−2i/hd), NTK-rescaled for
    // GTE v1.5); rebuilt only when theta or the scaling changes.
    const invFreq = ctx.mem.alloc((hd / 2) * 8, `${label}.inv_freq`);
    let key = '';
    return new (class extends CpuStep<RopeShape> {
      protected override check(s: RopeShape) {
        if (s.offset + s.numHeads * hd > s.stride) throw new InternalError(`${label}: heads [${s.offset}, ${s.offset + s.numHeads * hd}) overrun the row stride ${s.stride}`);
        checkSizes(label, [['x', x, s.tokens * s.stride * 4], ['positions', positions, s.tokens * 4], ['normWeight', normW, hd * 4]]);
      }
      protected execute(s: RopeShape) {
        const k = JSON.stringify([s.theta, s.ntk?.factor, s.ntk?.mixedB]);
        if (k !== key) {
          key = k;
          new Float64Array(ctx.mem.memory.buffer, invFreq.ptr, hd / 2).set(ropeInverseFrequencies(s.theta, hd, s.ntk));
        }
        ctx.wasm.rope(x.ptr, positions.ptr, ptr(normW), invFreq.ptr, scratch(ctx, hd * 4), s.numHeads, s.stride, s.offset, hd, s.eps, normUnitOffset ? 1 : 0, 0, s.tokens);
      }
      override destroy() {
        super.destroy();
        invFreq.destroy();
      }
    })(label);
  }
}

class PoolCpu {
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

class L2NormalizeCpu {
  constructor(private readonly ctx: CpuContext, readonly normalize: boolean) {}

  bind(b: L2NormalizeBuffers, label = 'l2_normalize'): CpuStep<L2NormalizeShape> {
    const [x, out] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.out, label, 'out')];
    const { ctx, normalize } = this;
    return new (class extends CpuStep<L2NormalizeShape> {
      protected override check(s: L2NormalizeShape) {
        if (s.dims > s.inStride || s.dims > s.outStride) throw new InternalError(`${label}: dims ${s.dims} exceeds a row stride (in ${s.inStride}, out ${s.outStride})`);
        const end = s.rowOffset + s.rows;
        if (s.rows > 0) checkSizes(label, [['x', x, ((end - 1) * s.inStride + s.dims) * 4], ['out', out, ((end - 1) * s.outStride + s.dims) * 4]]);
      }
      protected execute(s: L2NormalizeShape) {
        ctx.wasm.l2Normalize(x.ptr, out.ptr, s.rows, s.rowOffset, s.dims, s.inStride, s.outStride, normalize ? 1 : 0);
      }
    })(label);
  }
}

class SoftmaxCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: SoftmaxBuffers, label = 'softmax'): CpuStep<SoftmaxShape> {
    const [x, out] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.out, label, 'out')];
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<SoftmaxShape> {
      protected override check(s: SoftmaxShape) {
        const bytes = (s.rowOffset + s.rows) * s.n * 4;
        checkSizes(label, [['x', x, bytes], ['out', out, bytes]]);
      }
      protected execute(s: SoftmaxShape) {
        wasm.softmax(x.ptr, out.ptr, s.rows, s.rowOffset, s.n);
      }
    })(label);
  }
}

class SigmoidCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: SigmoidBuffers, label = 'sigmoid'): CpuStep<SigmoidShape> {
    const [x, out] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.out, label, 'out')];
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<SigmoidShape> {
      protected override check(s: SigmoidShape) {
        const bytes = (s.offset + s.count) * 4;
        checkSizes(label, [['x', x, bytes], ['out', out, bytes]]);
      }
      protected execute(s: SigmoidShape) {
        wasm.sigmoid(x.ptr, out.ptr, s.count, s.offset);
      }
    })(label);
  }
}

class SiluMulCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: SiluMulBuffers, label = 'silu_mul'): CpuStep<SiluMulShape> {
    if (b.gateUp === b.out) throw new GpuError(`${label}: out may not be gateUp (a buffer cannot be bound read-only and writable at once)`);
    const [gu, out] = [cpuBuffer(b.gateUp, label, 'gateUp'), cpuBuffer(b.out, label, 'out')];
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<SiluMulShape> {
      protected override check(s: SiluMulShape) {
        checkCounts(label, s);
        checkSizes(label, [['gateUp', gu, s.tokens * s.inter * 8], ['out', out, s.tokens * s.inter * 4]]);
      }
      protected execute(s: SiluMulShape) {
        wasm.siluMul(gu.ptr, out.ptr, s.inter, 0, s.tokens);
      }
    })(label);
  }
}

class GluCpu {
  constructor(private readonly ctx: CpuContext, readonly act: number, readonly second: boolean) {}

  bind(b: GluBuffers, label = 'glu'): CpuStep<GluShape> {
    if (b.gateUp === b.out) throw new GpuError(`${label}: out may not be gateUp (a buffer cannot be bound read-only and writable at once)`);
    const [gu, out] = [cpuBuffer(b.gateUp, label, 'gateUp'), cpuBuffer(b.out, label, 'out')];
    const { ctx, act, second } = this;
    return new (class extends CpuStep<GluShape> {
      protected override check(s: GluShape) {
        checkCounts(label, s);
        checkSizes(label, [['gateUp', gu, s.tokens * s.inter * 8], ['out', out, s.tokens * s.inter * 4]]);
      }
      protected execute(s: GluShape) {
        ctx.wasm.glu(gu.ptr, out.ptr, s.inter, act, second ? 1 : 0, 0, s.tokens);
      }
    })(label);
  }
}

class QuantizeBitsCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: QuantizeBitsBuffers, label = 'quantize_bits'): CpuStep<QuantizeBitsShape> {
    const [x, out] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.out, label, 'out')];
    const wasm = this.ctx.wasm;
    return new (class extends CpuStep<QuantizeBitsShape> {
      protected override check(s: QuantizeBitsShape) {
        const bytes = Math.ceil((s.rows * Math.ceil(s.dims / 8)) / 4) * 4;
        if (s.rows > 0) checkSizes(label, [['x', x, ((s.rows - 1) * s.inStride + s.dims) * 4], ['out', out, bytes]]);
      }
      protected execute(s: QuantizeBitsShape) {
        wasm.quantizeBits(x.ptr, out.ptr, s.rows, s.dims, s.inStride);
      }
    })(label);
  }
}

/** The CPU implementation of each src/kernels/ wrapper, by the wrapper's shader name. */
const FACTORIES: Record<string, (ctx: CpuContext, opts: never) => object> = {
  matmul: (ctx, o: MatmulOptions = {}) => {
    const activation = o.activation ?? 'none';
    if (!(activation in ACT)) throw new GpuError(`matmul: unknown activation "${activation}"`);
    return new MatmulCpu(ctx, o.bias ?? false, activation, o.residual ?? false);
  },
  layer_norm: (ctx, o: LayerNormOptions = {}) => new LayerNormCpu(ctx, o.residual ?? false),
  rms_norm: (ctx, o: RmsNormOptions = {}) => new RmsNormCpu(ctx, o.unitOffset ?? false, o.residual ?? false),
  attention: (ctx, o: AttentionOptions) => {
    if (!Number.isInteger(o.headDim) || o.headDim < 1) throw new InternalError(`attention: headDim ${o.headDim} must be a positive integer`);
    return new AttentionCpu(ctx, o.headDim, o.causal, o.relativeBias ?? false);
  },
  embedding: (ctx, o: EmbeddingOptions) => new EmbeddingCpu(ctx, o.positions, o.tokenTypes),
  rope: (ctx, o: RopeOptions) => {
    if (!Number.isInteger(o.headDim) || o.headDim < 2 || o.headDim % 2 !== 0) throw new InternalError(`rope: headDim ${o.headDim} must be even and ≥ 2`);
    return new RopeCpu(ctx, o.norm, o.normUnitOffset ?? false, o.headDim);
  },
  pool: (ctx) => new PoolCpu(ctx),
  l2_normalize: (ctx, o: L2NormalizeOptions) => new L2NormalizeCpu(ctx, o.normalize),
  softmax: (ctx) => new SoftmaxCpu(ctx),
  sigmoid: (ctx) => new SigmoidCpu(ctx),
  silu_mul: (ctx) => new SiluMulCpu(ctx),
  glu: (ctx, o: GluOptions) => {
    if (!(o.activation in GLU_ACT)) throw new GpuError(`glu: unknown activation "${o.activation}"`);
    if (o.activated !== 'first' && o.activated !== 'second') throw new GpuError(`glu: activated must be 'first' or 'second', got "${o.activated}"`);
    return new GluCpu(ctx, GLU_ACT[o.activation], o.activated === 'second');
  },
  quantize_bits: (ctx) => new QuantizeBitsCpu(ctx),
  ...SEARCH_FACTORIES,
};

export const CPU_KERNELS = Object.keys(FACTORIES);

export async function createCpuKernel(ctx: CpuContext, name: string, opts: unknown): Promise<object> {
  const make = FACTORIES[name];
  if (!make) throw new GpuError(`The CPU backend has no "${name}" kernel yet (it has ${CPU_KERNELS.join(', ')}).`);
  return make(ctx, opts as never);
}
