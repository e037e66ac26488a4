// A test double around a real Dawn GPUDevice: counts the buffers made on it that are not destroyed
// yet (independently of wgpool's own Gpu.liveBuffers()), and can report smaller limits than the
// adapter has, to exercise the per-buffer limit checks without a giant model.
import { acquireDevice } from '../../src/gpu/device';

export interface CountingDevice {
  device: GPUDevice;
  /** Buffers created on the device and not destroyed since. */
  live(): number;
  /** Labels of the live buffers (for failure messages). */
  liveLabels(): string[];
  /** The real device (to destroy it at the end). */
  real: GPUDevice;
}

export async function countingDevice(limits: Partial<Record<keyof GPUSupportedLimits, number>> = {}): Promise<CountingDevice> {
  const { device: real } = await acquireDevice();
  const live = new Map<GPUBuffer, string>();
  const fakeLimits = new Proxy(real.limits, {
    get: (target, prop) => (prop in limits ? limits[prop as keyof typeof limits] : Reflect.get(target, prop, target)),
  });
  const device = new Proxy(real, {
    get(target, prop) {
      if (prop === 'limits') return fakeLimits;
      if (prop === 'createBuffer') {
        return (desc: GPUBufferDescriptor) => {
          const buf = target.createBuffer(desc);
          live.set(buf, desc.label ?? '');
          const destroy = buf.destroy.bind(buf);
          (buf as { destroy: () => void }).destroy = () => {
            live.delete(buf);
            destroy();
          };
          return buf;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { device, real, live: () => live.size, liveLabels: () => [...live.values()] };
}
