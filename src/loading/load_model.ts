// Loading one model, phase by phase: source → download → parse (config, tokenizer, pooling,
// safetensors) → GPU device → upload + compile (body, Dense layers, heads) → ready. One progress
// stream covers it all (progress.ts) and the signal is checked in every phase; on any failure or
// abort every GPU buffer made so far is destroyed, the caller's device is left as it was.

import { openBackend, type BackendChoice } from '../backend';
import type { SimdLevel } from '../cpu/wasm';
import { chooseMatmulVariant, encoderMatmulShapes, type MatmulChoice, type TuneStore } from '../gpu/autotune';
import { abortError } from '../gpu/errors';
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
import { LoadFiles } from './load_files';
import { LoadTracker, type ProgressCallback } from './progress';
import { WeightStore } from './safetensors';
import { resolveSource, type DirectoryHandleLike, type ModelSource, type ResolveOptions } from './source';

export interface LoadOptions extends ResolveOptions {
  model: string | ModelSource | File[] | FileList | DirectoryHandleLike;
  servedModelName?: string;
  device?: GPUDevice;
  pooling?: PoolMode;
  matmulVariant?: MatmulVariant;
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
  /** Where measured matmul choices persist between loads (src/gpu/autotune.ts). */
  tuneStore?: TuneStore;
  /** Time the matmul variants at load on every adapter, or only on hardware ones (default). */
  matmulTune?: 'always' | 'hardware';
  signal?: AbortSignal;
  /** The load's progress stream: phases download, parse, upload, compile, then ready (progress 1). */
  onProgress?: ProgressCallback;
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
}

export async function loadModel(opts: LoadOptions): Promise<LoadedModel> {
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw abortError(signal.reason);
  };
  const tracker = new LoadTracker(opts.onProgress);
  const source = await resolveSource(opts.model, opts);
  const loaded = new LoadFiles(source, tracker, signal);
  // --hf-overrides: config.json is read with the overrides merged in; every other file passes through.
  const files = withHfOverrides(loaded, opts.hfOverrides);
  try {
    // download: everything the listing names, before any parsing (no listing: read as needed).
    await loaded.prefetch();
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
    const weights = await WeightStore.load(files, { signal });
    tracker.advance('parse', weights.files.join(', '), 1);
    check();

    // upload + compile
    tracker.expect('upload', weights.names().reduce((sum, n) => sum + weights.shape(n).reduce((a, d) => a * d, 1) * 4, 0));
    const { gpu, info: backend } = await openBackend({ backend: opts.backend, device: opts.device, cpuSimd: opts.cpuSimd, cpuThreads: opts.threads });
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
      // The matmul variant: the option, a remembered choice, or a short timed trial of the candidates
      // on this model's encoder shapes (hardware adapters; the CPU backend has one GEMM).
      const intermediate = (config as { intermediate_size?: number }).intermediate_size ?? 4 * config.hidden_size;
      const matmul: MatmulChoice = gpu.backend === 'cpu'
        ? { variant: opts.matmulVariant ?? 'regblock', source: 'rule', key: 'cpu', costMs: 0, trials: [] }
        : await chooseMatmulVariant(gpu, encoderMatmulShapes(config.hidden_size, intermediate), { variant: opts.matmulVariant, store: opts.tuneStore, measure: opts.matmulTune ?? 'hardware' });
      const matmulVariant = matmul.variant;
      const body = await loadModelBody(gpu, config, weights, { matmulVariant });
      check();
      const H = body.hiddenSize;
      const cls = loadClassifier(gpu, config, weights, tokenizer, fromToken);
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
      };
      gpu.onUpload = undefined;
      gpu.pipelines.onPipeline = undefined;
      const timeline = tracker.timeline();
      tracker.ready();
      return { gpu, source, config, tokenizer, poolingConfig, body, heads: { embed, token, classifier }, info, timeline };
    } catch (e) {
      gpu.onUpload = undefined;
      gpu.pipelines.onPipeline = undefined;
      gpu.destroy();
      throw e;
    }
  } finally {
    loaded.release();
  }
}
