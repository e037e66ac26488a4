// NomicBert encoder (nomic-embed-text v1 / v1.5) over a packed batch, mirroring the trust_remote_code
// file modeling_hf_nomic_bert.py of nomic-ai/nomic-bert-2048 (cross-read with vLLM's bert_with_rope.py).
// It is registered by its config alone: no code from a model repository runs. Weight names are the
// checkpoint's keys (no prefix; pre-training checkpoints' `bert.` prefix also resolves).
//
//   embeddings + emb_ln  x = LayerNorm(word[ids] + token_type[types])   (no position table: RoPE)
//   NomicBertBlock × n_layer   (post-norm, prenorm: false)
//     attn.Wqkv          qkv = x·Wqkvᵀ (+ b)   rows block-major [Q heads | K heads | V heads]   [T, 3H]
//     rotary             q, k rotated in place: rotate-half (GPT-NeoX, not interleaved) over the whole
//                        head, inv_freq = rotary_emb_base^(−2i/head_dim) (base 1000 for v1.5)
//     attention          ctx = softmax(q·kᵀ/√head_dim) · v   within each sequence, bidirectional
//     norm1              h   = LayerNorm(ctx·W_outᵀ (+ b) + x)
//     mlp (swiglu)       g   = [fc12; fc11] h (fused) → a = silu(fc12 h) · fc11 h   (the activation
//                        is on fc12: vLLM maps fc12 → gate_proj, fc11 → up_proj)
//     norm2              x   = LayerNorm(a·W2ᵀ (+ b) + h)
//   no final norm, no pooler
//
// Positions: the hub file rotates by arange(seqlen); packed positions are exactly that per sequence.
// rotary_scaling_factor (dynamic NTK past max_trained_positions) never applies, because the model
// length is capped at max_trained_positions, as vLLM does.

import type { Gpu } from '../gpu/context';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { LayerNormKernel } from '../kernels/layer_norm';
import { MatmulKernel, type MatmulVariant } from '../kernels/matmul';
import { RopeKernel } from '../kernels/rope';
import { GluKernel } from '../kernels/glu';
import type { StorageDtype } from '../gpu/storage_dtype';
import type { WeightStore } from '../loading/safetensors';
import type { NomicBertConfig } from './config';
import { PlannedBody, StepList, allocBatchBuffers, type BodyPlan } from './model';
import { concatRows, uploadWeight } from './weights';

interface LayerWeights {
  qkvW: GPUBuffer;
  qkvB?: GPUBuffer;
  outW: GPUBuffer;
  outB?: GPUBuffer;
  norm1G: GPUBuffer;
  norm1B: GPUBuffer;
  /** [fc12; fc11] stacked: gate first, as glu (activated: 'first') reads it. */
  gateUpW: GPUBuffer;
  gateUpB?: GPUBuffer;
  fc2W: GPUBuffer;
  fc2B?: GPUBuffer;
  norm2G: GPUBuffer;
  norm2B: GPUBuffer;
}

interface Kernels {
  embed: EmbeddingKernel;
  layerNorm: LayerNormKernel;
  qkv: MatmulKernel;
  rope: RopeKernel;
  attention: AttentionKernel;
  outProj: MatmulKernel;
  gateUp: MatmulKernel;
  glu: GluKernel;
  fc2: MatmulKernel;
}

export interface NomicBertOptions {
  matmulVariant?: MatmulVariant;
  /** How matmul weights and embedding tables are stored on the GPU (default f32; src/gpu/storage_dtype.ts). */
  weightDtype?: StorageDtype;
}

export class NomicBertModel extends PlannedBody {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    gpu: Gpu,
    readonly config: NomicBertConfig,
    private readonly k: Kernels,
    private readonly emb: { word: GPUBuffer; tokenType?: GPUBuffer; lnG: GPUBuffer; lnB: GPUBuffer },
    private readonly layers: LayerWeights[],
  ) {
    super(gpu);
    this.hiddenSize = config.n_embd;
    this.maxPositions = Math.min(config.n_positions, config.max_trained_positions);
  }

  static async load(gpu: Gpu, c: NomicBertConfig, weights: WeightStore, opts: NomicBertOptions = {}): Promise<NomicBertModel> {
    const H = c.n_embd;
    const I = c.n_inner;
    const hd = H / c.n_head;
    const types = c.type_vocab_size > 0;
    const variant = opts.matmulVariant;
    const dt = opts.weightDtype ?? 'f32';
    const [embed, layerNorm, qkv, rope, attention, outProj, gateUp, glu, fc2] = await Promise.all([
      EmbeddingKernel.create(gpu, { positions: false, tokenTypes: types, tableDtype: dt }),
      LayerNormKernel.create(gpu, { workgroupSize: H >= 256 ? 128 : 64 }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.qkv_proj_bias }),
      RopeKernel.create(gpu, { norm: false, headDim: hd }),
      AttentionKernel.create(gpu, { causal: false, headDim: hd }),
      // out_proj takes the qkv_proj_bias flag too (the hub file reuses it).
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.qkv_proj_bias, residual: true }),
      // fc12 takes the mlp_fc1_bias flag too.
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_fc1_bias }),
      GluKernel.create(gpu, { activation: 'silu', activated: 'first' }),
      MatmulKernel.create(gpu, { variant, weightDtype: dt, bias: c.mlp_fc2_bias, residual: true }),
    ]);
    const w = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape);
    const mw = (name: string, shape: number[]) => uploadWeight(gpu, weights, name, shape, dt); // read by matmuls / the gather
    const emb = {
      word: mw('embeddings.word_embeddings.weight', [c.vocab_size, H]),
      tokenType: types ? mw('embeddings.token_type_embeddings.weight', [c.type_vocab_size, H]) : undefined,
      lnG: w('emb_ln.weight', [H]),
      lnB: w('emb_ln.bias', [H]),
    };
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.n_layer; i++) {
      const p = `encoder.layers.${i}.`;
      const m = `${p}mlp.`;
      layers.push({
        qkvW: mw(`${p}attn.Wqkv.weight`, [3 * H, H]),
        qkvB: c.qkv_proj_bias ? w(`${p}attn.Wqkv.bias`, [3 * H]) : undefined,
        outW: mw(`${p}attn.out_proj.weight`, [H, H]),
        outB: c.qkv_proj_bias ? w(`${p}attn.out_proj.bias`, [H]) : undefined,
        norm1G: w(`${p}norm1.weight`, [H]),
        norm1B: w(`${p}norm1.bias`, [H]),
        gateUpW: concatRows(gpu, weights, [`${m}fc12.weight`, `${m}fc11.weight`], [I, H], `${m}fc12+fc11.weight`, dt),
        gateUpB: c.mlp_fc1_bias ? concatRows(gpu, weights, [`${m}fc12.bias`, `${m}fc11.bias`], [I], `${m}fc12+fc11.bias`) : undefined,
        fc2W: mw(`${m}fc2.weight`, [H, I]),
        fc2B: c.mlp_fc2_bias ? w(`${m}fc2.bias`, [H]) : undefined,
        norm2G: w(`${p}norm2.weight`, [H]),
        norm2B: w(`${p}norm2.bias`, [H]),
      });
    }
    return new NomicBertModel(gpu, c, { embed, layerNorm, qkv, rope, attention, outProj, gateUp, glu, fc2 }, emb, layers);
  }

  protected build(T: number, B: number): BodyPlan {
    const { gpu, config: c, k } = this;
    const H = c.n_embd;
    const I = c.n_inner;
    const heads = c.n_head;
    const hd = H / heads;
    const eps = c.layer_norm_epsilon;
    const inputs = allocBatchBuffers(gpu, T, B);
    const x = gpu.storage(T * H * 4, 'nomic_bert.x');
    const qkv = gpu.storage(T * 3 * H * 4, 'nomic_bert.qkv');
    const ctx = gpu.storage(T * H * 4, 'nomic_bert.ctx');
    const tmp = gpu.storage(T * H * 4, 'nomic_bert.tmp');
    const h = gpu.storage(T * H * 4, 'nomic_bert.h');
    const gu = gpu.storage(T * 2 * I * 4, 'nomic_bert.fc12+fc11');
    const act = gpu.storage(T * I * 4, 'nomic_bert.act');

    const steps = new StepList();
    const add = steps.add.bind(steps);
    const dummy = inputs.ids; // bound in place of the position table (and absent token types), never read

    add(
      k.embed.bind(
        { ids: inputs.ids, positions: dummy, tokenTypes: inputs.typeIds, word: this.emb.word, position: dummy, tokenType: this.emb.tokenType ?? dummy, out: tmp },
        'nomic_bert.embeddings',
      ),
      (t) => ({ tokens: t, hidden: H, vocab: c.vocab_size, maxPositions: 0, typeVocab: c.type_vocab_size }),
    );
    add(k.layerNorm.bind({ x: tmp, gamma: this.emb.lnG, beta: this.emb.lnB, y: x }, 'nomic_bert.emb_ln'), (t) => ({ rows: t, n: H, eps }));

    this.layers.forEach((L, i) => {
      const p = `nomic_bert.encoder.layers.${i}`;
      add(k.qkv.bind({ x, w: L.qkvW, bias: L.qkvB, y: qkv }, `${p}.attn.Wqkv`), (t) => ({ M: t, N: 3 * H, K: H }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.attn.rotary_emb.q`), (t) => ({ tokens: t, numHeads: heads, stride: 3 * H, offset: 0, theta: c.rotary_emb_base, eps: 0 }));
      add(k.rope.bind({ x: qkv, positions: inputs.positions }, `${p}.attn.rotary_emb.k`), (t) => ({ tokens: t, numHeads: heads, stride: 3 * H, offset: H, theta: c.rotary_emb_base, eps: 0 }));
      add(
        k.attention.bind({ q: qkv, k: qkv, v: qkv, seqOf: inputs.seqOf, cuSeqLens: inputs.cuSeqLens, out: ctx }, `${p}.attn`),
        (t) => ({ tokens: t, numHeads: heads, numKvHeads: heads, qStride: 3 * H, kStride: 3 * H, vStride: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H, scale: 1 / Math.sqrt(hd) }),
      );
      add(k.outProj.bind({ x: ctx, w: L.outW, bias: L.outB, residual: x, y: tmp }, `${p}.attn.out_proj`), (t) => ({ M: t, N: H, K: H }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.norm1G, beta: L.norm1B, y: h }, `${p}.norm1`), (t) => ({ rows: t, n: H, eps }));
      add(k.gateUp.bind({ x: h, w: L.gateUpW, bias: L.gateUpB, y: gu }, `${p}.mlp.fc12+fc11`), (t) => ({ M: t, N: 2 * I, K: H }));
      add(k.glu.bind({ gateUp: gu, out: act }, `${p}.mlp.swiglu`), (t) => ({ tokens: t, inter: I }));
      add(k.fc2.bind({ x: act, w: L.fc2W, bias: L.fc2B, residual: h, y: tmp }, `${p}.mlp.fc2`), (t) => ({ M: t, N: H, K: I }));
      add(k.layerNorm.bind({ x: tmp, gamma: L.norm2G, beta: L.norm2B, y: x }, `${p}.norm2`), (t) => ({ rows: t, n: H, eps }));
    });

    return { inputs, acts: [x, qkv, ctx, tmp, h, gu, act], hidden: x, steps };
  }

  dispose(): void {
    this.disposePlan();
    const { word, tokenType, lnG, lnB } = this.emb;
    [word, tokenType, lnG, lnB, ...this.layers.flatMap((l) => Object.values(l))].forEach((b) => (b as GPUBuffer | undefined)?.destroy());
  }
}
