// GTE v1.5 ("NewModel", Alibaba-NLP/new-impl, trust_remote_code) over a packed batch, built from
// config.json alone and mirroring the hub's modeling.py as cross-read with vLLM's GteNewModel (weight
// names are the safetensors keys, with or without the `new.` prefix of the NewFor* heads).
//
//   NewEmbeddings   x = LayerNorm(word[ids] (+ token_type[types] when type_vocab_size > 0))
//   NewLayer × L, post-norm:
//     qkv_proj      qkv = x·Wqkvᵀ + b                                  [T, 3H]: q | k | v, head-major
//     rope          q, k ← rotate-half RoPE, rope_theta with the FIXED NTK rescaling of rope_scaling
//     attention     ctx = softmax(q·kᵀ/√d)·v within each sequence
//     o_proj        h   = attn_ln(ctx·Woᵀ + b + x)
//     up_gate_proj  ug  = h·Wugᵀ (no bias)                              [T, 2I]: up | gate
//     act · up      a   = gelu(gate) · up                               (exact erf GELU on the SECOND half)
//     down_proj     x   = mlp_ln(a·Wdᵀ + b + h)
//   no final norm, no pooler.

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GluKernel } from '../kernels/glu';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RopeKernel, type NtkScaling } from '../kernels/rope';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { GteConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

interface LayerWeights {
  qkvW: GPUBuffer;
  qkvB: GPUBuffer;
  oW: GPUBuffer;
  oB: GPUBuffer;
  attnLnG: GPUBuffer;
  attnLnB: GPUBuffer;
  upGateW: GPUBuffer;
  downW: GPUBuffer;
  downB: GPUBuffer;
  mlpLnG: GPUBuffer;
  mlpLnB: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  layerNorm: LayerNormKernel;
  qkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  denseResidual: MatmulKernel;
  upGate: MatmulKernel;
  glu: GluKernel;
}

export interface GteOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class GteNewModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;
  private readonly ntk: NtkScaling | undefined;

  private constructor(
    gpu: Gpu,
    readonly config: GteConfig,
    private readonly k: Kernels,
    private readonly emb: { word: GPUBuffer; tokenType?: GPUBuffer; lnG: GPUBuffer; lnB: GPUBuffer },
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.hidden_size;
    this.maxPositions = config.max_position_embeddings;
    const rs = config.rope_scaling;
    this.ntk = rs ? { factor: rs.factor, mixedB: rs.mixed_b } : undefined;
  }

  static async load(gpu: Gpu, c: GteConfig, weights: WeightStore, opts: GteOptions = {}): Promise<GteNewModel> {
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const hd = H / c.num_attention_heads;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const types = c.type_vocab_size > 0;
    const [embed, layerNorm, qkv, rope, attention, denseResidual, upGate, glu] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: types, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true }),
      RopeKernel.create(gpu, { norm: false, headDim: hd }),
      AttentionKernel.create(gpu, { causal: false, headDim: hd }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: true, residual: true }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt }),
      GluKernel.create(gpu, { activation: 'gelu', activated: 'second' }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const emb = {
      word: mw('embeddings.word_embeddings.weight', [c.vocab_size, H]),
      tokenType: types ? mw('embeddings.token_type_embeddings.weight', [c.type_vocab_size, H]) : undefined,
      lnG: w('embeddings.LayerNorm.weight', [H]),
      lnB: w('embeddings.LayerNorm.bias', [H]),
    };
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `encoder.layer.${i}.`;
      const a = `${p}attention.`;
      const proj = (which: 'weight' | 'bias', shape: number[]) => {
        const d = which === 'weight' ? dt : 'f32'; // biases stay f32
        return c.pack_qkv
          ? uploadWeight(gpu, weights, `${a}qkv_proj.${which}`, [3 * shape[0], ...shape.slice(1)], d)
          : concatRows(gpu, weights, ['q', 'k', 'v'].map((x) => `${a}${x}_proj.${which}`), shape, `${p}qkv.${which}`, d);
      };
      layers.push({
        qkvW: proj('weight', [H, H]),
        qkvB: proj('bias', [H]),
        oW: mw(`${a}o_proj.weight`, [H, H]),
        oB: w(`${a}o_proj.bias`, [H]),
        attnLnG: w(`${p}attn_ln.weight`, [H]),
        attnLnB: w(`${p}attn_ln.bias`, [H]),
        upGateW: mw(`${p}mlp.up_gate_proj.weight`, [2 * I, H]),
        downW: mw(`${p}mlp.down_proj.weight`, [H, I]),
        downB: w(`${p}mlp.down_proj.bias`, [H]),
        mlpLnG: w(`${p}mlp_ln.weight`, [H]),
        mlpLnB: w(`${p}mlp_ln.bias`, [H]),
      });
    }
    return new GteNewModel(gpu, c, { embed, layerNorm, qkv, rope, attention, denseResidual, upGate, glu }, emb, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.hidden_size;
    const I = c.intermediate_size;
    const heads = c.num_attention_heads;
    const hd = H / heads;
    const eps = c.layer_norm_eps;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'gte.x');
    const h = gpu.storage(T * H * 4, 'gte.h');
    const tmp = gpu.storage(T * H * 4, 'gte.tmp');
    const qkv = gpu.storage(T * 3 * H * 4, 'gte.qkv');
    const ctx = gpu.storage(T * H * 4, 'gte.ctx');
    const ug = gpu.storage(T * 2 * I * 4, 'gte.up_gate');
    const act = gpu.storage(T * I * 4, 'gte.act');
    const dummy = inputs.ids; // bound in place of disabled embedding tables (never read)
    const ln = (t: number) => ({ rows: t, n: H, eps });

    const steps = new StepList();
    const add = steps.add.bind(steps);
    add(
      k.embed.bind({ ids: inputs.ids, positions: dummy, tokenTypes: inputs.typeIds, word: this.emb.word, position: dummy, tokenType: this.emb.tokenType ?? dummy, out: tmp }, 'gte.embeddings'),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: c.type_vocab_size }),
    );
    add(k.layerNorm.bind({ x: tmp, gamma: this.emb.lnG, beta: this.emb.lnB, y: x }, 'gte.embeddings.LayerNorm'), ln);
    this.layers.forEach((L, i) => {
      const p = `gte.encoder.layer.${i}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.attention.qkv_proj`), (t) => ({ M: t, N: 3 * H, K: H }));
      for (const [which, offset] of [['q', 0], ['k', H]] as const) {
        add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.rope.${which}`), (t) => ({ tokens: t, numHeads: heads, stride: 3 * H, offset, theta: c.rope_theta, eps: 0, ntk: this.ntk }));
      }
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attention`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(hd) }),
      );
      add(k.denseResidual.bind({ x: ctx, w: L.oW, bias: L.oB, residual: x, y: tmp }, `${p}.attention.o_proj`), (t) => ({ M: t, N: H, K: H }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.attnLnG, beta: L.attnLnB, y: h }, `${p}.attn_ln`), ln);
      add(k.upGate.bind({ x: h, w: L.upGateW, y: ug }, `${p}.mlp.up_gate_proj`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.glu.bind({ gateUp: ug, out: act }, `${p}.mlp.act`), (t) => ({ tokens: t, inter: I }));
      add(k.denseResidual.bind({ x: act, w: L.downW, bias: L.downB, residual: h, y: tmp }, `${p}.mlp.down_proj`), (t) => ({ M: t, N: H, K: I }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.mlpLnG, beta: L.mlpLnB, y: x }, `${p}.mlp_ln`), ln);
    });
    return { inputs, acts: [x, h, tmp, qkv, ctx, ug, act], hidden: x, steps };
  }

  dispose(): void {
    this.disposePlan();
    [...Object.values(this.emb), ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => b?.destroy());
  }
}
