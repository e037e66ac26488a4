// The CPU backend's row norms: layer norm and RMS norm (src/kernels/layer_norm.ts, rms_norm.ts),
// each with the optional fused residual add.

import { InternalError } from '../gpu/errors';
import type { LayerNormBuffers, LayerNormShape } from '../kernels/layer_norm';
import type { RmsNormBuffers, RmsNormShape } from '../kernels/rms_norm';
import type { CpuContext } from './context';
import { checkSizes, opt, ptr } from './kernel_checks';
import { cpuBuffer } from './memory';
import { CpuStep } from './step';

export class LayerNormCpu {
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

export class RmsNormCpu {
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
