// Architecture registry: config family → model body. config.ts has already refused architectures
// and model types we cannot build, by name.

import type { Gpu } from '../gpu/context';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { MatmulVariant } from '../kernels/matmul';
import type { WeightStore } from '../loading/safetensors';
import { BertModel } from './bert';
import type { ModelConfig } from './config';
import { DecoderModel } from './decoder';
import { DistilBertModel } from './distilbert';
import type { ModelBody } from './model';
import { NomicBertModel } from './nomic_bert';
import { ModernBertModel } from './modernbert';
import { Gemma3Model } from './gemma3';
import { MPNetModel } from './mpnet';
import { GteNewModel } from './gte';

export interface BodyOptions {
  matmulVariant?: MatmulVariant;
  /** Storage dtype of matmul weights and embedding tables (default f32). */
  weightDtype?: StorageDtype;
}

export function loadModelBody(gpu: Gpu, config: ModelConfig, weights: WeightStore, opts: BodyOptions = {}): Promise<ModelBody> {
  switch (config.family) {
    case 'bert':
      return BertModel.load(gpu, config, weights, opts);
    case 'qwen3':
    case 'qwen2':
    case 'llama':
    case 'mistral':
      return DecoderModel.load(gpu, config, weights, opts);
    case 'distilbert':
      return DistilBertModel.load(gpu, config, weights, opts);
    case 'nomic_bert':
      return NomicBertModel.load(gpu, config, weights, opts);
    case 'modernbert':
      return ModernBertModel.load(gpu, config, weights, opts);
    case 'gemma3':
      return Gemma3Model.load(gpu, config, weights, opts);
    case 'mpnet':
      return MPNetModel.load(gpu, config, weights, opts);
    case 'gte':
      return GteNewModel.load(gpu, config, weights, opts);
  }
}
