// wgpool public API.
export { createEngine, Engine } from './engine';
export type { EngineOptions, EngineInfo, EmbedOptions, EmbedResult, Usage, CommonOptions } from './engine';
export { Gpu } from './gpu/context';
export type { AdapterReport } from './gpu/device';
export { WgpoolError, BadRequestError, NotFoundError, OverloadedError, ModelLoadError, GpuError } from './gpu/errors';
export { resolveSource } from './loading/source';
export type { ModelSource } from './loading/source';
export type { PoolMode } from './kernels/pool';
export { directoryHandleSource } from './loading/source';
export type { DirectoryHandleLike, FileEntry } from './loading/source';
export type { LoadPhase, LoadProgress, ProgressCallback } from './loading/progress';
