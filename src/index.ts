// wgpool public API.
export { createEngine, Engine } from './engine';
export type { EngineOptions, EngineInfo, EmbedOptions, EmbedResult, Usage, CommonOptions } from './engine';
export { Gpu } from './gpu/context';
export type { AdapterReport } from './gpu/device';
export { WgpoolError, BadRequestError, NotFoundError, OverloadedError, ModelLoadError, GpuError, GpuLostError } from './gpu/errors';
export { GpuMemoryError, type MemoryEstimate } from './loading/memory';
export type { DtypeChoice, DtypeInfo } from './gpu/weight_dtype';
export type { StorageDtype } from './gpu/storage_dtype';
export { resolveSource } from './loading/source';
export type { ModelSource } from './loading/source';
export type { PoolMode } from './kernels/pool';
export type { Input, TokenIds, ChatMessage, ChatOptions, ScoreType } from './engine';
// vLLM server configuration and the byte transport's decoder (for clients of encoding_format bytes).
export { parsePoolerConfig, poolerEngineOptions, withPoolerConfig } from './router/pooler_config';
export type { PoolerConfig } from './router/pooler_config';
export { decodeNumbers } from './serve/encoding';
export type { EmbedDType, Endianness } from './serve/encoding';
export { VectorIndex, unitVector } from './index/vector_index';
export type { VectorIndexOptions, IndexEngine, IndexEntry, TextEntry, VectorEntry, AddOptions, SearchOptions, SearchHit } from './index/vector_index';
export type { SearchMode } from './index/search';
export { IndexCapacityError } from './index/corpus';
export { IndexModelMismatchError, IndexFormatError, encodeIndex, decodeIndex } from './index/serialize';
export type { IndexSnapshot, ModelIdentity } from './index/serialize';
export { IndexedDBIndexStore, MemoryIndexStore } from './index/store';
export type { IndexStore, StoredIndexInfo } from './index/store';
export { flatSearch } from './index/flat';
export type { FlatHit } from './index/flat';
export { directoryHandleSource } from './loading/source';
export type { DirectoryHandleLike, FileEntry } from './loading/source';
export type { LoadPhase, LoadProgress, ProgressCallback } from './loading/progress';
// The offline cache of URL and hub loads (Cache Storage in browsers, a folder in Node).
export { listCachedModels, deleteCachedModel, clearCache, cacheGetJson, cachePutJson, CacheError, CacheQuotaError } from './loading/cache';
// Measured kernel choices across runs: the model cache by default, or a JSON text of your own.
export { cacheTuneStore } from './loading/tune_cache';
export { jsonTuneStore, type TuneStore, type MatmulChoice } from './gpu/autotune';
export type { CacheOption, CacheConfig, CachedModelInfo, CacheStore, EntryWriter, StoredBody } from './loading/cache';
