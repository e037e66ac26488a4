// The CPU backend's elementwise row kernels: softmax, sigmoid and the gated MLP's activation
// (src/kernels/softmax.ts, sigmoid.ts, glu.ts).

import { GpuError } from '../gpu/errors';
import type { GluActivation, GluBuffers, GluShape } from '../kernels/glu';
import type { SigmoidBuffers, SigmoidShape } from '../kernels/sigmoid';
import type { SoftmaxBuffers, SoftmaxShape } from '../kernels/softmax';
import type { CpuContext } from './context';
import { checkCounts, checkSizes } from './kernel_checks';
import { cpuBuffer } from './memory';
import { CpuStep } from './step';

export const GLU_ACT: Record<GluActivation, number> = { silu: 0, gelu: 1, gelu_tanh: 2 };

export class SoftmaxCpu {
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

export class SigmoidCpu {
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
