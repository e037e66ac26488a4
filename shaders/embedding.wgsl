// embedding.wgsl — out[t, :] = word[ids[t], :] (+ position[positions[t], :]) (+ tokenType[types[t], :])
// for a packed batch of T tokens (all sequences back to back, no padding).
//
// ids, positions and token types come per token from the host, so packed variable-length batches
// work and any position scheme (BERT's 0..len-1, RoBERTa's padding_idx + 1 + i) is the host's choice.
//
// Bindings: 0 params (uniform {tokens, hidden, vocab, maxPositions, typeVocab}), 1 ids [T] u32,
//           2 positions [T] u32 (read only when HAS_POSITIONS), 3 types [T] u32 (read only when
//           HAS_TYPES), 4 word [vocab, hidden], 5 position [maxPositions, hidden] (HAS_POSITIONS),
//           6 tokenType [typeVocab, hidden] (HAS_TYPES), 7 out [T, hidden].
// Dispatch: one workgroup of WG threads per token, the threads striding over hidden. Grids past
//           65535 workgroups fold into y: token = wid.x + wid.y · num_workgroups.x (the host sends
//           (min(T, 65535), ceil(T / 65535))); workgroups past T return.
// Out of range: an id ≥ vocab (likewise position, type) is clamped to the table's last row, so a bad
//           id can never read outside the table. Clamping hides the error, so the host validates ids
//           before upload; the clamp is only the memory-safety backstop.
// Tables: word, position and tokenType are array<WEIGHT_T>, an alias the host declares (f32, or f16
//           with `enable f16;`: src/gpu/storage_dtype.ts); every read widens to f32.
// Numerics: f32 adds in the order word + position + type, as BertEmbeddings does.

override WG: u32 = 64;
override HAS_POSITIONS: bool = false;
override HAS_TYPES: bool = false;

struct Params {
  tokens: u32,
  hidden: u32,
  vocab: u32,
  maxPositions: u32,
  typeVocab: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> types: array<u32>;
@group(0) @binding(4) var<storage, read> word: array<WEIGHT_T>;
@group(0) @binding(5) var<storage, read> position: array<WEIGHT_T>;
@group(0) @binding(6) var<storage, read> tokenType: array<WEIGHT_T>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= params.tokens) {
    return;
  }
  let H = params.hidden;
  let word_row = min(ids[t], params.vocab - 1u) * H;
  var pos_row = 0u;
  if (HAS_POSITIONS) {
    pos_row = min(positions[t], params.maxPositions - 1u) * H;
  }
  var type_row = 0u;
  if (HAS_TYPES) {
    type_row = min(types[t], params.typeVocab - 1u) * H;
  }
  let out_row = t * H;
  for (var i = lid; i < H; i += WG) {
    var v = f32(word[word_row + i]);
    if (HAS_POSITIONS) {
      v += f32(position[pos_row + i]);
    }
    if (HAS_TYPES) {
      v += f32(tokenType[type_row + i]);
    }
    out[out_row + i] = v;
  }
}
