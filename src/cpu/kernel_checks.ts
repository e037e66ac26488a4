// What the CPU kernel wrappers (src/cpu/*_kernels.ts) do alike: check a bound buffer's size and a
// shape's counts with the WGSL wrappers' errors, read an optional buffer's pointer, borrow the
// context's scratch memory, and build the step of a one-input one-output kernel.

import { GpuError } from '../gpu/errors';
import type { CpuContext } from './context';
import { CpuBuffer, cpuBuffer } from './memory';
import { CpuStep } from './step';

export type Need = [name: string, buf: CpuBuffer | null, bytes: number];

/** Every buffer holds what the shape reads or writes (WebGPU would clamp silently; say what is wrong). */
export function checkSizes(label: string, need: readonly Need[]): void {
  for (const [name, buf, bytes] of need) {
    if (buf && buf.size < bytes) throw new GpuError(`${label}: ${name} holds ${buf.size} bytes, needs ${bytes}`);
  }
}

export function checkCounts(label: string, s: object): void {
  for (const [name, v] of Object.entries(s)) {
    if (typeof v === 'number' && name !== 'eps' && name !== 'scale' && name !== 'theta' && (!Number.isInteger(v) || v < 0)) {
      throw new GpuError(`${label}: ${name} must be a non-negative integer, got ${v}`);
    }
  }
}

export const opt = (b: GPUBuffer | undefined, label: string, what: string) => (b ? cpuBuffer(b, label, what) : null);
export const ptr = (b: CpuBuffer | null) => (b ? b.ptr : 0);

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
export function scratch(ctx: CpuContext, bytes: number): number {
  let s = scratches.get(ctx);
  if (!s) scratches.set(ctx, (s = new Scratch(ctx)));
  return s.get(bytes);
}

/**
 * The step of a kernel that reads one buffer, x, and writes another, out (softmax, sigmoid, L2
 * normalize, bit packing): `bytes` checks a shape (throwing as the WGSL wrapper does) and says how
 * many bytes x and out must hold for it; `run` calls the WASM kernel with their pointers.
 */
export function xOutStep<S>(
  label: string,
  b: { x: GPUBuffer; out: GPUBuffer },
  bytes: (s: S) => [x: number, out: number],
  run: (x: number, out: number, s: S) => void,
): CpuStep<S> {
  const [x, out] = [cpuBuffer(b.x, label, 'x'), cpuBuffer(b.out, label, 'out')];
  return new (class extends CpuStep<S> {
    protected override check(s: S) {
      const [xBytes, outBytes] = bytes(s);
      checkSizes(label, [['x', x, xBytes], ['out', out, outBytes]]);
    }
    protected execute(s: S) {
      run(x.ptr, out.ptr, s);
    }
  })(label);
}
