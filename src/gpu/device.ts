// Getting a GPUDevice: the browser's navigator.gpu, Dawn's `webgpu` package in Node, or a device the
// caller already owns. Whatever the source, the result is reported the same way (AdapterReport) so
// kernels can be chosen per adapter and users can see what they run on.

import { GpuError } from './errors';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A fallback adapter (spec flag) or a known CPU implementation such as SwiftShader. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
  /** 'browser' (navigator.gpu), 'node' (Dawn) or 'injected' (caller's device). */
  source: 'browser' | 'node' | 'injected';
}

export interface DeviceOptions {
  /** Use this device instead of requesting one (e.g. shared with the page's renderer). */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** Ask for shader-f16 when the adapter has it (default true; kernels keep an f32 path regardless). */
  preferF16?: boolean;
}

export interface AcquiredDevice {
  device: GPUDevice;
  report: AdapterReport;
}

/** What the encoder kernels need at minimum; the defaults of every WebGPU device satisfy these. */
const REQUIRED_LIMITS = {
  // embedding.wgsl binds 7 storage buffers (ids, positions, types, three tables, out).
  maxStorageBuffersPerShaderStage: 7,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
} as const;

/** Limits we raise to the adapter's maximum when it offers more (big models need big buffers). */
const RAISED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'] as const;

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

function infoOf(adapter: GPUAdapter | null, device: GPUDevice): GPUAdapterInfo | undefined {
  // Newer browsers expose device.adapterInfo; adapter.info is the standard path.
  const fromDevice = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return adapter?.info ?? fromDevice;
}

export function reportAdapter(
  adapter: GPUAdapter | null,
  device: GPUDevice,
  source: AdapterReport['source'],
): AdapterReport {
  const info = infoOf(adapter, device);
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const fallback =
    (info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined)?.isFallbackAdapter === true ||
    (adapter as (GPUAdapter & { isFallbackAdapter?: boolean }) | null)?.isFallbackAdapter === true;
  const text = `${vendor} ${architecture} ${description} ${info?.device ?? ''}`.toLowerCase();
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) limits[name] = Number(device.limits[name]);
  return {
    vendor,
    architecture,
    device: info?.device ?? '',
    description,
    isSoftware: fallback || /swiftshader|llvmpipe|lavapipe|warp|software/.test(text),
    features: [...device.features].sort(),
    limits,
    source,
  };
}

// Dawn's GPU object owns the native instance whose event loop resolves every promise (mapAsync,
// onSubmittedWorkDone). If it is garbage-collected while a device lives, the next ProcessEvents
// locks a freed mutex and the process aborts. One instance per process, held here for good.
let nodeInstance: Promise<GPU> | undefined;

function nodeGpu(): Promise<GPU> {
  nodeInstance ??= createNodeGpu();
  nodeInstance.catch(() => (nodeInstance = undefined));
  return nodeInstance;
}

async function createNodeGpu(): Promise<GPU> {
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    // Kept out of browser bundles: only Node reaches this import.
    const name = 'webgpu';
    mod = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new GpuError(
      `WebGPU in Node needs the npm package "webgpu" (Dawn): npm install webgpu. (${(e as Error).message})`,
    );
  }
  // Dawn's classes (GPUBufferUsage, GPUMapMode, …) are what browser code expects as globals.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod.create([]);
}

function noAdapterHelp(): string {
  if (!isNode()) {
    return 'navigator.gpu.requestAdapter() returned null: WebGPU is disabled or unsupported here (Chromium: --enable-unsafe-webgpu; headless also needs a Vulkan driver such as SwiftShader).';
  }
  const icd = process.env.VK_ICD_FILENAMES;
  if (!icd) {
    return (
      'Dawn found no GPU adapter and VK_ICD_FILENAMES is unset. Without a GPU, use the SwiftShader ' +
      `Vulkan driver that Debian's chromium ships: apt-get install chromium libvulkan1, then ` +
      `export VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`
    );
  }
  return `Dawn found no GPU adapter with VK_ICD_FILENAMES=${icd}: check that the file exists and that libvulkan1 (the Vulkan loader) is installed.`;
}

/** Request a device (or wrap the caller's), checking the limits the kernels rely on. */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<AcquiredDevice> {
  if (opts.device) {
    return { device: opts.device, report: reportAdapter(null, opts.device, 'injected') };
  }
  let gpu: GPU | undefined;
  let source: AdapterReport['source'];
  if (typeof navigator !== 'undefined' && (navigator as Navigator & { gpu?: GPU }).gpu) {
    gpu = navigator.gpu;
    source = 'browser';
  } else if (isNode()) {
    gpu = await nodeGpu();
    source = 'node';
  } else {
    throw new GpuError(
      'navigator.gpu is missing: this browser has no WebGPU, or the page is not a secure context (serve it from https, http://localhost or http://127.0.0.1).',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuError(noAdapterHelp());

  for (const [name, min] of Object.entries(REQUIRED_LIMITS)) {
    const have = Number(adapter.limits[name as keyof GPUSupportedLimits]);
    if (have < min) throw new GpuError(`GPU adapter limit ${name} is ${have}; wgpool needs at least ${min}.`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = Number(adapter.limits[name]);
  const requiredFeatures: GPUFeatureName[] = [];
  // f16 weight storage (src/gpu/storage_dtype.ts) is chosen per model at load; asking costs nothing.
  if (opts.preferF16 !== false && adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Row reductions use subgroup operations where they exist (src/kernels/reduction.ts).
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups');

  const device = await adapter.requestDevice({ label: 'wgpool', requiredLimits, requiredFeatures });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') console.error(`wgpool: GPU device lost (${info.reason}): ${info.message}`);
  });
  return { device, report: reportAdapter(adapter, device, source) };
}
