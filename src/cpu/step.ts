// What a CPU kernel's bind() returns: the CPU twin of gpu/context.ts's Bound. The shape set by
// update() is the one the next run uses (as a Params write before a submit); encode(pass) records
// the step into the batch's CpuPass, which runs the recorded steps in order at submit (a split step
// finishes on every thread before the next starts).

import { GpuError } from '../gpu/errors';

export abstract class CpuStep<S> {
  protected shape: S | undefined;

  constructor(readonly label: string) {}

  update(shape: S): this {
    this.check(shape);
    this.shape = shape;
    return this;
  }

  encode(pass: GPUComputePassEncoder): void {
    if (!(pass instanceof CpuPass)) throw new GpuError(`${this.label}: a CPU-backend step was encoded into a WebGPU pass`);
    pass.record(this);
  }

  destroy(): void {
    this.shape = undefined;
  }

  /**
   * Run with the last update()'s shape; a step never updated does nothing (a 0-workgroup dispatch).
   * A promise only when a split kernel waits for its worker threads without blocking (a page's main thread).
   */
  run(): void | Promise<void> {
    if (this.shape !== undefined) return this.execute(this.shape);
  }

  /** Throw a clear error for a shape the kernel cannot take (called at update, like the WGSL wrappers). */
  protected check(_shape: S): void {}

  protected abstract execute(shape: S): void | Promise<void>;
}

/** The CPU backend's compute pass: the recorded steps of one batch, run in order. */
export class CpuPass {
  /**
   * When set, milliseconds per step label (layer numbers folded to N) add up here: the CPU
   * benchmarks' per-phase view (bench/cpu/scaling.ts). Null in normal use: no timing cost.
   */
  static profile: Map<string, number> | null = null;
  /** The profile's clock in milliseconds (a benchmark may count CPU time instead of wall time). */
  static clock: () => number = () => performance.now();

  private readonly steps: CpuStep<unknown>[] = [];

  record(step: CpuStep<unknown>): void {
    this.steps.push(step);
  }

  async execute(): Promise<void> {
    const rest = this.start();
    if (rest) await rest;
  }

  /**
   * Run the steps now, as far as this thread can: undefined when all finished before returning, else
   * a promise for the rest (from the first step that waits for worker threads on).
   */
  start(from = 0): void | Promise<void> {
    const profile = CpuPass.profile;
    for (let i = from; i < this.steps.length; i++) {
      const t0 = profile ? CpuPass.clock() : 0;
      const done = this.steps[i].run();
      if (done) {
        return done.then(() => {
          if (profile) CpuPass.note(profile, this.steps[i].label, CpuPass.clock() - t0);
          return this.start(i + 1);
        });
      }
      if (profile) CpuPass.note(profile, this.steps[i].label, CpuPass.clock() - t0);
    }
  }

  private static note(profile: Map<string, number>, label: string, ms: number): void {
    const key = label.replace(/\.\d+\./g, '.N.');
    profile.set(key, (profile.get(key) ?? 0) + ms);
  }

  /** Typed as what models and heads pass around. */
  asPass(): GPUComputePassEncoder {
    return this as unknown as GPUComputePassEncoder;
  }
}
