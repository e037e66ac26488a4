// The CPU backend's matmul (src/kernels/matmul.ts's twin): packed 8-column weight panels, the fused
// epilogues by number, the M × panels split over threads.

import { GpuError } from '../gpu/errors';
import type { Activation, MatmulBuffers, MatmulShape } from '../kernels/matmul';
import type { CpuContext } from './context';
import { checkCounts, checkSizes, opt, ptr } from './kernel_checks';
import { CpuBuffer, cpuBuffer } from './memory';
import { matmulParts } from './split';
import { CpuStep } from './step';

export const ACT: Record<Activation, number> = { none: 0, gelu: 1, silu: 2, tanh: 3, relu: 4 };

export class MatmulCpu {
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
