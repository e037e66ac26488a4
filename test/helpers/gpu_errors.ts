// Catch what a WebGPU device reports outside an error scope: validation and out-of-memory errors of
// any command (the 'uncapturederror' event), and a lost device. A fuzz or soak run fails on the
// first one, naming it.
export interface GpuErrorWatch {
  /** Throws if the device reported anything so far. */
  check(): void;
  /** Wait for submitted work, so errors it raises have arrived. */
  flush(): Promise<void>;
  readonly errors: string[];
}

export function watchGpuErrors(device: GPUDevice): GpuErrorWatch {
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (e) => errors.push(`uncaptured ${(e as GPUUncapturedErrorEvent).error.constructor.name}: ${(e as GPUUncapturedErrorEvent).error.message}`));
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') errors.push(`device lost (${info.reason}): ${info.message}`);
  });
  return {
    errors,
    check() {
      if (errors.length) throw new Error(`the GPU device reported: ${errors.join('; ')}`);
    },
    async flush() {
      await device.queue.onSubmittedWorkDone();
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}
