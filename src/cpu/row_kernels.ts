// The CPU backend's elementwise row kernels: softmax, sigmoid and the gated MLP's activation
// (src/kernels/softmax.ts, sigmoid.ts, glu.ts).

import { GpuError } from '../gpu/errors';
import type { GluActivation, GluBuffers, GluShape } from '../kernels/glu';
import type { SigmoidBuffers, SigmoidShape } from '../kernels/sigmoid';
import type { SoftmaxBuffers, SoftmaxShape } from '../kernels/softmax';
import type { CpuContext } from './context';
import { checkCounts, checkSizes, xOutStep } from './kernel_checks';
import { cpuBuffer } from './memory';
import { CpuStep } from './step';

export const GLU_ACT: Record<GluActivation, number> = { silu: 0, gelu: 1, gelu_tanh: 2 };

export class SoftmaxCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: SoftmaxBuffers, label = 'softmax'): CpuStep<SoftmaxShape> {
    const wasm = this.ctx.wasm;
    const bytes = (s: SoftmaxShape) => (s.rowOffset + s.rows) * s.n * 4;
    return xOutStep<SoftmaxShape>(label, b, (s) => [bytes(s), bytes(s)], (x, out, s) => wasm.softmax(x, out, s.rows, s.rowOffset, s.n));
  }
}

export class SigmoidCpu {
  constructor(private readonly ctx: CpuContext) {}

  bind(b: SigmoidBuffers, label = 'sigmoid'): CpuStep<SigmoidShape> {
    const wasm = this.ctx.wasm;
    const bytes = (s: SigmoidShape) => (s.offset + s.count) * 4;
    return xOutStep<SigmoidShape>(label, b, (s) => [bytes(s), bytes(s)], (x, out, s) => wasm.sigmoid(x, out, s.count, s.offset));
  }
}

export class GluCpu {
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
