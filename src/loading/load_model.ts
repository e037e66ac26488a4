// Loading one model, phase by phase: source → download → parse (config, tokenizer, pooling,
// safetensors) → GPU device → upload + compile (body, Dense layers, heads) → ready. One progress
// stream covers it all (progress.ts) and the signal is checked in every phase; on any failure or
// abort every GPU buffer made so far is destroyed, the caller's device is left as it was.

import { openBackend, type BackendChoice } from '../backend';
import type { SimdLevel } from '../cpu/wasm';
import { chooseMatmulVariant, encoderMatmulShapes, type MatmulChoice, type TuneStore } from '../gpu/autotune';
import { abortError } from '../gpu/errors';
import { chooseWeightDtype, firstOutOfHalfRange, halfRangeFallback, planWeightDtype, storageDtypeOf, type DtypeChoice, type DtypeInfo } from '../gpu/weight_dtype';
import type { MatmulVariant } from '../kernels/matmul';
import type { PoolMode } from '../kernels/pool';
import { loadModelConfig, type ModelConfig } from '../models/config';
import { withHfOverrides } from '../models/hf_overrides';
import { classifierFromToken, loadClassifier } from '../models/heads';
import type { ModelBody } from '../models/model';
import { loadModelBody } from '../models/registry';
import { ClassifierHead } from '../pooling/classifier_head';
import { resolvePoolingConfig, type PoolingConfig } from '../pooling/config';
import { loadDenseLayers } from '../pooling/dense';
import { EmbedHead } from '../pooling/head';
import { TokenEmbedHead } from '../pooling/token_head';
import type { EngineInfo, Task } from '../router/types';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { DEFAULT_SCHEDULER_OPTIONS } from '../scheduler/queue';
import { LoadFiles } from './load_files';
import { GpuMemoryError, checkMemory, estimateMemory, type MemoryEstimate } from './memory';
import { LoadTracker, type ProgressCallback } from './progress';
import { BASE_PREFIXES, HalfRangeError, WeightStore, type TensorMeta } from './safetensors';
import { streamWeights } from './stream_weights';
import { gpuBytes } from './tensor_upload';
import { loadTuneStore } from './tune_cache';
import { resolveSource, type DirectoryHandleLike, type ModelSource, type ResolveOptions } from './source';

export interface LoadOptions extends ResolveOptions {
  model: string | ModelSource | File[] | FileList | DirectoryHandleLike;
  servedModelName?: string;
  device?: GPUDevice;
  pooling?: PoolMode;
  matmulVariant?: MatmulVariant;
  /** Storage dtype of the weights: 'auto' (default), 'f32' or 'f16' (src/gpu/weight_dtype.ts). */
  dtype?: DtypeChoice;
  classifierFromToken?: [string, string];
  /** 'webgpu' (default), 'cpu' or 'auto' (src/backend.ts). */
  backend?: BackendChoice;
  cpuSimd?: SimdLevel;
  /** The CPU backend's threads (src/cpu/context.ts CpuOptions.threads). */
  threads?: number;
  /** Score by MaxSim over token embeddings (decides info.scoreType). */
  lateInteraction?: boolean;
  /** Merged into config.json before the model is built (vLLM --hf-overrides). */
  hfOverrides?: Record<string, unknown>;
  /**
   * Where measured matmul choices persist between loads (src/gpu/autotune.ts); default: the model
   * cache (`cache`, on unless false), so a later load on the same adapter skips the trial.
   */
  tuneStore?: TuneStore;
  /** Time the matmul variants at load on every adapter, or only on hardware ones (default). */
  matmulTune?: 'always' | 'hardware';
  signal?: AbortSignal;
  /** The load's progress stream: phases download, parse, upload, compile, then ready (progress 1). */
  onProgress?: ProgressCallback;
  /** The batch token budget the engine will run with (activations are estimated for it). */
  maxBatchTokens?: number;
  /** Refuse to load when the estimate (weights + one batch of activations) exceeds this many bytes. */
  gpuMemoryBudget?: number;
}

/**
 * Checkpoint tensors that model code reads on the CPU (everything else streams straight to the GPU):
 * Gemma3 scales its embedding table by √hidden, MPNet slices its relative-bias table, and
 * classifier_from_token takes the yes − no rows of the LM head.
 */
export function hostTensors(config: ModelConfig, fromToken: readonly string[] | null): (t: TensorMeta) => boolean {
  const names = new Set<string>();
  if (config.family === 'gemma3') names.add('embed_tokens.weight');
  if (config.family === 'mpnet') names.add('encoder.relative_attention_bias.weight');
  if (fromToken) names.add('lm_head.weight').add('embed_tokens.weight');
  const strip = (n: string) => {
    const p = BASE_PREFIXES.find((q) => n.startsWith(q));
    return p ? n.slice(p.length) : n;
  };
  return (t) => names.has(t.name) || names.has(strip(t.name));
}

export interface LoadedModel {
  gpu: Awaited<ReturnType<typeof openBackend>>['gpu'];
  source: ModelSource;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  poolingConfig: PoolingConfig;
  body: ModelBody;
  heads: { embed: EmbedHead; token: TokenEmbedHead; classifier: ClassifierHead | null };
  info: EngineInfo;
  /** Wall time per phase in ms (first to last event of each). */
  timeline: ReturnType<LoadTracker['timeline']>;
  /** What the load estimated it needs on the GPU (checked before allocating). */
  memory: MemoryEstimate;
}

export async function loadModel(opts: LoadOptions): Promise<LoadedModel> {
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw abortError(signal.reason);
  };
  const tracker = new LoadTracker(opts.onProgress);
  // The offline cache is on by default for URL and hub sources (src/loading/cache.ts).
  const source = await resolveSource(opts.model, { ...opts, cache: opts.cache ?? true });
  let cached = false;
  const loaded = new LoadFiles(source, tracker, signal);
  // --hf-overrides: config.json is read with the overrides merged in; every other file passes through.
  const files = withHfOverrides(loaded, opts.hfOverrides);
  // WebGPU loads stream the weights from the body into GPU buffers; the CPU backend reads them whole.
  const streaming = opts.backend !== 'cpu';
  try {
    // download: everything the listing names, before any parsing (no listing: read as needed);
    // when streaming, the .safetensors files wait for the device and arrive with the upload.
    await loaded.prefetch(streaming);
    check();

    // parse
    tracker.expect('parse', 4);
    const config = await loadModelConfig(files, signal);
    tracker.advance('parse', 'config.json', 1);
    const tokenizer = await TextTokenizer.load(files, signal);
    tracker.advance('parse', 'tokenizer.json', 1);
    const poolingConfig = await resolvePoolingConfig(files, config, signal);
    tracker.advance('parse', 'modules.json', 1);
    const fromToken = classifierFromToken(config, opts.classifierFromToken);
    check();

    const { gpu, info: backend } = await openBackend({ backend: opts.backend, device: opts.device, cpuSimd: opts.cpuSimd, cpuThreads: opts.threads });
    let weights: WeightStore | undefined;
    let oomScope = false;
    try {
      check();
      gpu.onUpload = (label, bytes) => {
        check();
        tracker.advance('upload', label, bytes);
      };
      gpu.pipelines.onPipeline = (label, ready) => {
        if (ready) tracker.advance('compile', label, 1);
        else tracker.expect('compile', 1);
      };
      // The memory estimate, checked on each file's header before its tensors are allocated.
      const maxBatchTokens = opts.maxBatchTokens ?? DEFAULT_SCHEDULER_OPTIONS.maxBatchTokens;
      const maxPositions = (config as { max_position_embeddings?: number }).max_position_embeddings ?? 512;
      const maxLength = Math.min(tokenizer.modelMaxLength, maxPositions);
      let weightsBytes = 0;
      let largest: { name: string; bytes: number } | undefined;
      // The weights' storage dtype, planned before any byte arrives (streamed tensors are converted
      // as they come); 'auto' may still fall back to f32 on a value beyond the f16 range.
      let dtype: DtypeInfo = gpu.backend === 'webgpu' ? planWeightDtype(gpu, opts.dtype) : { name: 'f32', requested: opts.dtype ?? 'auto', reason: '' };
      const onTensors = (tensors: readonly TensorMeta[]) => {
        const bytesOf = (t: TensorMeta) => gpuBytes(t, storageDtypeOf(t.name, t.shape, dtype.name));
        for (const t of tensors) {
          const bytes = bytesOf(t);
          weightsBytes += bytes;
          if (!largest || bytes > largest.bytes) largest = { name: t.name, bytes };
        }
        tracker.expect('upload', tensors.reduce((a, t) => a + bytesOf(t), 0));
        const estimate = estimateMemory(config, weightsBytes, maxBatchTokens, maxLength);
        if (gpu.backend === 'webgpu') checkMemory(source.id, estimate, largest, { maxBindBytes: gpu.maxWeightBytes(), budget: opts.gpuMemoryBudget });
        return estimate;
      };
      if (gpu.backend === 'webgpu') {
        gpu.device.pushErrorScope('out-of-memory');
        oomScope = true;
      }
      if (streaming && gpu.backend === 'webgpu') {
        // The checkpoint counts as parsed once its (first) header is: the rest arrives as the upload.
        let parsed = false;
        const onHeader = (file: string, header: { tensors: TensorMeta[] }) => {
          onTensors(header.tensors);
          if (!parsed) tracker.advance('parse', file, 1);
          parsed = true;
        };
        const stream = () =>
          streamWeights(files, gpu, { signal, keepOnHost: hostTensors(config, fromToken), onHeader, storage: (t) => storageDtypeOf(t.name, t.shape, dtype.name) });
        const streamChecked = async (): Promise<WeightStore> => {
          for (;;) {
            let store: WeightStore | undefined;
            let tooBig: string | null = null;
            try {
              store = await stream();
              // Host-kept tensors were not converted on the way: check those the model stores as f16.
              if (dtype.name === 'f16' && dtype.requested === 'auto') tooBig = firstOutOfHalfRange(store);
            } catch (e) {
              // dtype 'f16' fails on such a value (the error names it); 'auto' reads the checkpoint again as f32.
              if (!(e instanceof HalfRangeError) || dtype.requested !== 'auto') throw e;
              tooBig = e.tensor;
            }
            if (store && !tooBig) return store;
            store?.dispose();
            dtype = halfRangeFallback(tooBig!);
            weightsBytes = 0;
            largest = undefined;
          }
        };
        weights = await streamChecked();
      } else {
        weights = await WeightStore.load(files, { signal });
        dtype = chooseWeightDtype(gpu, weights, opts.dtype);
        onTensors(weights.names().map((n) => ({ name: n, dtype: weights!.dtype(n), shape: weights!.shape(n), begin: 0, end: 0, file: '' })));
        tracker.advance('parse', weights.files.join(', '), 1);
      }
      check();
      const memory = estimateMemory(config, weightsBytes, maxBatchTokens, maxLength);

      // The matmul variant: the option, a remembered choice, or a short timed trial of the candidates
      // on this model's encoder shapes (hardware adapters; the CPU backend has one GEMM).
      // The weights' storage dtype (above) first: the matmul trial times the kernels that will read them.
      const intermediate = (config as { intermediate_size?: number }).intermediate_size ?? 4 * config.hidden_size;
      const matmul: MatmulChoice = gpu.backend === 'cpu'
        ? { variant: opts.matmulVariant ?? 'regblock', source: 'rule', key: 'cpu', costMs: 0, trials: [] }
        : await chooseMatmulVariant(gpu, encoderMatmulShapes(config.hidden_size, intermediate), { variant: opts.matmulVariant, store: loadTuneStore(opts), measure: opts.matmulTune ?? 'hardware', weightDtype: dtype.name });
      const matmulVariant = matmul.variant;
      const body = await loadModelBody(gpu, config, weights, { matmulVariant, weightDtype: dtype.name });
      check();
      const H = body.hiddenSize;
      const cls = loadClassifier(gpu, config, weights, tokenizer, fromToken);
      // Streamed tensors no model part took (e.g. a pooler the task does not use) are freed now.
      weights.dispose();
      if (oomScope) {
        oomScope = false;
        const oom = await gpu.device.popErrorScope();
        if (oom) throw new GpuMemoryError(`Model "${source.id}": the GPU ran out of memory while allocating the weights (${oom.message}); estimated ${(memory.totalBytes / 2 ** 20).toFixed(1)} MiB with activations for ${memory.batchTokens} tokens.`, memory);
      }
      const dense = await loadDenseLayers(gpu, files, poolingConfig.dense, signal);
      check();
      const [embed, token, classifier] = await Promise.all([
        EmbedHead.create(gpu, H, dense, matmulVariant),
        TokenEmbedHead.create(gpu, H),
        cls ? ClassifierHead.create(gpu, H, cls.weights, matmulVariant) : Promise.resolve(null),
      ]);
      check();
      const tasks: Task[] = !cls
        ? ['embed', 'token_embed', 'score']
        : cls.weights.pooling === 'token'
          ? ['token_classify']
          : cls.weights.numLabels === 1
            ? ['classify', 'score']
            : ['classify'];
      const info: EngineInfo = {
        model: opts.servedModelName ?? source.id,
        architecture: fromToken ? `${config.architecture} (classifier_from_token)` : config.architecture,
        modelType: config.model_type,
        hiddenSize: H,
        embeddingSize: embed.embeddingSize,
        // sentence-transformers truncates at max_seq_length; vLLM takes it as the model's limit too.
        maxLength: Math.min(tokenizer.modelMaxLength, body.maxPositions, poolingConfig.maxSeqLength ?? Infinity),
        tasks,
        pooling: opts.pooling ?? poolingConfig.mode,
        normalize: poolingConfig.normalize,
        poolingOrigin: opts.pooling ? 'engine-option' : poolingConfig.origin,
        isMatryoshka: config.is_matryoshka,
        matryoshkaDimensions: config.matryoshka_dimensions,
        prompts: poolingConfig.prompts,
        defaultPromptName: poolingConfig.defaultPromptName,
        numLabels: cls ? cls.weights.numLabels : 0,
        labels: cls ? cls.labels : [],
        adapter: gpu.adapter,
        // vLLM decides the score type from the served task: classifier → cross-encoder, embedder →
        // bi-encoder, or late-interaction when served for token_embed (lateInteraction).
        scoreType: !tasks.includes('score') ? undefined : cls ? 'cross-encoder' : opts.lateInteraction ? 'late-interaction' : 'bi-encoder',
        backend,
        matmul,
        dtype: { ...dtype, weightBytes: gpu.uploadedBytes },
      };
      gpu.onUpload = undefined;
      gpu.pipelines.onPipeline = undefined;
      // The load worked: the cache keeps the files it read (before `ready`, so ready means cached).
      await source.finish?.(true);
      cached = true;
      const timeline = tracker.timeline();
      tracker.ready();
      return { gpu, source, config, tokenizer, poolingConfig, body, heads: { embed, token, classifier }, info, timeline, memory };
    } catch (e) {
      gpu.onUpload = undefined;
      gpu.pipelines.onPipeline = undefined;
      if (oomScope) await gpu.device.popErrorScope().catch(() => null);
      weights?.dispose();
      gpu.destroy();
      throw e;
    }
  } finally {
    // A failed or aborted load leaves nothing in the cache.
    if (!cached) await source.finish?.(false).catch(() => undefined);
    loaded.release();
  }
}
