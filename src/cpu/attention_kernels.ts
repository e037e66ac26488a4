// The CPU backend's attention and the RoPE that feeds it (src/kernels/attention.ts, rope.ts):
// packed segment-aware attention split over heads, and the rotation with its optional per-head norm.

import { GpuError, InternalError } from '../gpu/errors';
import { REL_BIAS_BUCKETS, type AttentionBuffers, type AttentionShape } from '../kernels/attention';
import { ropeInverseFrequencies, type RopeBuffers, type RopeShape } from '../kernels/rope';
import type { CpuContext } from './context';
import { checkSizes, opt, ptr, scratch } from './kernel_checks';
import { cpuBuffer } from './memory';
import { headParts } from './split';
import { CpuStep } from './step';

export class AttentionCpu {
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

export class RopeCpu {
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
