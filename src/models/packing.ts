// Varlen packing: B sequences laid end to end as T real tokens, with cuSeqLens offsets (as vLLM and
// TEI do on the server). No padding token ever reaches a GEMM, attention or pooling.

export interface Sequence {
  ids: ArrayLike<number>;
  /** token_type_ids (BERT pairs); zeros when absent. */
  typeIds?: ArrayLike<number>;
}

export interface PackedBatch {
  /** Total real tokens. */
  tokens: number;
  /** Number of sequences. */
  batch: number;
  ids: Uint32Array;
  typeIds: Uint32Array;
  /** Position of each token within its sequence (0-based, before any model-specific offset). */
  positions: Uint32Array;
  /** Sequence index of each token. */
  seqOf: Uint32Array;
  /** [B + 1] cumulative sequence starts: sequence b is tokens [cuSeqLens[b], cuSeqLens[b+1]). */
  cuSeqLens: Uint32Array;
}

export function packBatch(seqs: readonly Sequence[], positionOffset = 0): PackedBatch {
  const batch = seqs.length;
  const cuSeqLens = new Uint32Array(batch + 1);
  for (let b = 0; b < batch; b++) cuSeqLens[b + 1] = cuSeqLens[b] + seqs[b].ids.length;
  const tokens = cuSeqLens[batch];
  const ids = new Uint32Array(tokens);
  const typeIds = new Uint32Array(tokens);
  const positions = new Uint32Array(tokens);
  const seqOf = new Uint32Array(tokens);
  for (let b = 0; b < batch; b++) {
    const s = seqs[b];
    const start = cuSeqLens[b];
    for (let i = 0; i < s.ids.length; i++) {
      ids[start + i] = s.ids[i];
      typeIds[start + i] = s.typeIds ? s.typeIds[i] : 0;
      positions[start + i] = positionOffset + i;
      seqOf[start + i] = b;
    }
  }
  return { tokens, batch, ids, typeIds, positions, seqOf, cuSeqLens };
}
