// sentence-transformers Dense modules (models/Dense.py): out = activation(W · pooled + b), applied
// after pooling and before Normalize. Their weights live in the module's own folder
// (`2_Dense/model.safetensors`, keys `linear.weight` [out, in] and `linear.bias` [out]).

import type { Gpu } from '../gpu/context';
import { ModelLoadError } from '../gpu/errors';
import type { Activation } from '../kernels/matmul';
import { WeightStore } from '../loading/safetensors';
import type { ModelSource } from '../loading/source';
import type { DenseModule } from './config';

export interface DenseLayer {
  w: GPUBuffer;
  b?: GPUBuffer;
  inFeatures: number;
  outFeatures: number;
  activation: Activation;
  path: string;
}

/** torch activation class names sentence-transformers writes → the matmul epilogue's activations. */
const ACTIVATIONS: Record<string, Activation> = {
  'torch.nn.modules.activation.Tanh': 'tanh',
  'torch.nn.modules.linear.Identity': 'none',
  'torch.nn.modules.activation.GELU': 'gelu',
  'torch.nn.modules.activation.SiLU': 'silu',
};

/** A view of `source` rooted at a module folder, so the weight loader finds `model.safetensors` there. */
function subSource(source: ModelSource, dir: string): ModelSource {
  const p = (path: string) => `${dir}/${path}`;
  return {
    id: `${source.id}/${dir}`,
    exists: (path) => source.exists(p(path)),
    bytes: (path, signal) => source.bytes(p(path), signal),
    text: (path, signal) => source.text(p(path), signal),
    json: (path, signal) => source.json(p(path), signal),
  };
}

export async function loadDenseLayers(gpu: Gpu, source: ModelSource, modules: readonly DenseModule[], signal?: AbortSignal): Promise<DenseLayer[]> {
  const layers: DenseLayer[] = [];
  for (const m of modules) {
    const activation = ACTIVATIONS[m.activation_function];
    if (!activation) {
      throw new ModelLoadError(
        `Dense module ${m.path}: activation ${m.activation_function} is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`,
      );
    }
    const weights = await WeightStore.load(subSource(source, m.path), { signal });
    const w = weights.getShaped('linear.weight', [m.out_features, m.in_features]);
    const b = m.bias ? weights.getShaped('linear.bias', [m.out_features]) : undefined;
    layers.push({
      w: gpu.upload(w, `${m.path}.linear.weight`),
      b: b && gpu.upload(b, `${m.path}.linear.bias`),
      inFeatures: m.in_features,
      outFeatures: m.out_features,
      activation,
      path: m.path,
    });
  }
  return layers;
}
