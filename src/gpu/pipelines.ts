// Compute pipelines, created once and cached by kernel name + overrides (dtype, workgroup size,
// epilogue). Tensor shapes never enter the key: they travel in each dispatch's Params uniform, so
// one pipeline serves every batch.

import { GpuError } from './errors';

/** How a kernel's bindings are declared: binding i of group 0 has kind kinds[i]. */
export type BindingKind = 'uniform' | 'read' | 'storage';

export interface ShaderSpec {
  /** File name under shaders/, used in labels and compile errors. */
  file: string;
  source: string;
  entryPoint?: string;
  /** Binding 0..n-1 of group 0, in order. Explicit layouts keep disabled bindings valid. */
  bindings: readonly BindingKind[];
  /**
   * Shared WGSL appended after `source` (WGSL has no includes; declarations may come after use).
   * Compile errors in them are reported against their own file and line.
   */
  includes?: readonly { file: string; source: string }[];
  /**
   * WGSL extensions the source needs (`enable subgroups;`), written as the module's first line,
   * before every declaration as WGSL requires. The device must have the matching feature.
   */
  enables?: readonly string[];
  /**
   * Type aliases the source uses but does not declare (`WEIGHT_T` → `f32` or `f16`), written on the
   * first line after the enables. One .wgsl file then serves every storage dtype of its weights.
   */
  aliases?: Readonly<Record<string, string>>;
}

/** The enable directives and type aliases of a spec as the first line of its module (undefined when none). */
function enableLine(spec: ShaderSpec): string | undefined {
  const parts = [
    ...(spec.enables ?? []).map((e) => `enable ${e};`),
    ...Object.entries(spec.aliases ?? {}).map(([name, type]) => `alias ${name} = ${type};`),
  ];
  return parts.length ? parts.join(' ') : undefined;
}

/** One shader module per distinct full source: the file, its includes, its enables and aliases. */
export function moduleKey(spec: ShaderSpec): string {
  return [
    ...(spec.enables ?? []).map((e) => `enable:${e}`),
    ...Object.entries(spec.aliases ?? {}).map(([name, type]) => `${name}=${type}`),
    spec.file,
    ...(spec.includes ?? []).map((i) => i.file),
  ].join('+');
}

/** The full WGSL of a spec: its source, then its includes. */
export function fullSource(spec: ShaderSpec): string {
  const enables = enableLine(spec);
  return [...(enables ? [enables] : []), spec.source, ...(spec.includes ?? []).map((i) => i.source)].join('\n');
}

/** Map a line of fullSource(spec) back to the file it came from. */
export function sourceLine(spec: ShaderSpec, line: number): { file: string; line: number } {
  const parts = [{ file: spec.file, source: spec.source }, ...(spec.includes ?? [])];
  let first = enableLine(spec) ? 2 : 1;
  if (line < first) return { file: spec.file, line: 0 };
  for (const part of parts) {
    const lines = part.source.split('\n').length;
    if (line < first + lines) return { file: part.file, line: line - first + 1 };
    first += lines;
  }
  return { file: spec.file, line };
}

export type Overrides = Record<string, number | boolean>;

export interface CompiledKernel {
  spec: ShaderSpec;
  overrides: Overrides;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  label: string;
}

function overrideKey(o: Overrides): string {
  return Object.keys(o)
    .sort()
    .map((k) => `${k}=${+o[k]}`)
    .join(',');
}

/** Dawn accepts only numbers as pipeline constants; WGSL bool overrides take 0 / 1. */
function numericOverrides(o: Overrides): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +v]));
}

/** Turn compilation messages into `shaders/file.wgsl:line:col: message` lines, like a compiler. */
export function formatCompilationInfo(spec: ShaderSpec, info: GPUCompilationInfo): string {
  const lines = fullSource(spec).split('\n');
  return info.messages
    .map((m) => {
      const code = m.lineNum > 0 ? `\n    ${lines[m.lineNum - 1]?.trim() ?? ''}` : '';
      const at = m.lineNum > 0 ? sourceLine(spec, m.lineNum) : { file: spec.file, line: 0 };
      return `shaders/${at.file}:${at.line}:${m.linePos}: ${m.type}: ${m.message}${code}`;
    })
    .join('\n');
}

export class PipelineCache {
  private readonly modules = new Map<string, Promise<GPUShaderModule>>();
  private readonly pipelines = new Map<string, Promise<CompiledKernel>>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  /** Told when a new pipeline starts compiling and when it is ready (the load's progress stream). */
  onPipeline?: (label: string, ready: boolean) => void;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  private module(spec: ShaderSpec): Promise<GPUShaderModule> {
    const key = moduleKey(spec);
    let m = this.modules.get(key);
    if (!m) {
      m = (async () => {
        this.device.pushErrorScope('validation');
        const module = this.device.createShaderModule({ label: `shaders/${spec.file}`, code: fullSource(spec) });
        const info = await module.getCompilationInfo();
        const err = await this.device.popErrorScope();
        if (info.messages.some((x) => x.type === 'error') || err) {
          throw new GpuError(
            `WGSL compile failed in shaders/${spec.file}:\n${formatCompilationInfo(spec, info)}` +
              (err ? `\n${err.message}` : ''),
          );
        }
        return module;
      })();
      this.modules.set(key, m);
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }

  private layout(spec: ShaderSpec): GPUBindGroupLayout {
    const key = spec.bindings.join(',');
    let l = this.layouts.get(key);
    if (!l) {
      l = this.device.createBindGroupLayout({
        label: `layout(${key})`,
        entries: spec.bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(key, l);
    }
    return l;
  }

  /** Get (or build, asynchronously) the pipeline for this kernel and override set. */
  get(spec: ShaderSpec, overrides: Overrides = {}): Promise<CompiledKernel> {
    const key = `${moduleKey(spec)}#${spec.entryPoint ?? 'main'}|${overrideKey(overrides)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = (async () => {
        const module = await this.module(spec);
        const layout = this.layout(spec);
        const variant = [...(spec.enables ?? []), ...Object.entries(spec.aliases ?? {}).map(([n, t]) => `${n}=${t}`)].map((v) => `+${v}`).join('');
        const label = `${spec.file.replace(/\.wgsl$/, '')}${variant}[${overrideKey(overrides)}]`;
        this.device.pushErrorScope('validation');
        let pipeline: GPUComputePipeline;
        try {
          const desc: GPUComputePipelineDescriptor = {
            label,
            layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
            compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: numericOverrides(overrides) },
          };
          pipeline = await this.device.createComputePipelineAsync(desc);
        } catch (e) {
          await this.device.popErrorScope();
          throw new GpuError(`pipeline ${label} (shaders/${spec.file}) failed: ${(e as Error).message}`);
        }
        const err = await this.device.popErrorScope();
        if (err) throw new GpuError(`pipeline ${label} (shaders/${spec.file}): ${err.message}`);
        return { spec, overrides, pipeline, layout, label };
      })();
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
      const notify = this.onPipeline;
      if (notify) {
        notify(key, false);
        p.then(() => notify(key, true), () => undefined);
      }
    }
    return p;
  }
}
