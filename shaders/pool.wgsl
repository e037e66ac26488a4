// pool.wgsl — one vector per sequence from a packed batch: hidden [T, H] → out [B, H].
//
// Sequence b owns tokens [cuSeqLens[b], cuSeqLens[b+1]) of `hidden` (padding-free packing) and is
// pooled with its own mode, modes[b] (sentence-transformers' Pooling names):
//   0 CLS            the segment's first token
//   1 MEAN           sum / len
//   2 MAX            elementwise max over the segment's tokens
//   3 LAST           the segment's last real token, cuSeqLens[b+1] − 1 (never a padding position)
//   4 MEAN_SQRT_LEN  sum / sqrt(len)   (sentence-transformers' pooling_mode_mean_sqrt_len_tokens)
// An empty segment (len 0) and an unknown mode write zeros rather than reading a neighbour.
//
// Bindings: 0 params (uniform), 1 hidden [T, H], 2 cuSeqLens u32 [B+1], 3 modes u32 [B],
//           4 out [B, H].
// Dispatch: (ceil(H / WG), B, 1) workgroups of WG threads; thread (column c, sequence b) walks the
//           segment's rows, so neighbouring threads read neighbouring columns of one row.
// Numerics: sums accumulate in f32 in token order; the division happens once at the end, as
//           torch.sum(...) / len does.

override WG: u32 = 64;

const MODE_CLS: u32 = 0u;
const MODE_MEAN: u32 = 1u;
const MODE_MAX: u32 = 2u;
const MODE_LAST: u32 = 3u;
const MODE_MEAN_SQRT_LEN: u32 = 4u;

struct Params {
  batch: u32,
  hidden: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hidden_states: array<f32>;
@group(0) @binding(2) var<storage, read> cu_seq_lens: array<u32>;
@group(0) @binding(3) var<storage, read> modes: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let b = gid.y;
  let h = params.hidden;
  if (c >= h || b >= params.batch) {
    return;
  }
  let start = cu_seq_lens[b];
  let end = cu_seq_lens[b + 1u];
  var result = 0.0;
  if (end > start) {
    let len = end - start;
    switch modes[b] {
      case MODE_CLS: {
        result = hidden_states[start * h + c];
      }
      case MODE_LAST: {
        result = hidden_states[(end - 1u) * h + c];
      }
      case MODE_MAX: {
        result = hidden_states[start * h + c];
        for (var t = start + 1u; t < end; t++) {
          result = max(result, hidden_states[t * h + c]);
        }
      }
      case MODE_MEAN, MODE_MEAN_SQRT_LEN: {
        var s = 0.0;
        for (var t = start; t < end; t++) {
          s += hidden_states[t * h + c];
        }
        if (modes[b] == MODE_MEAN) {
          result = s / f32(len);
        } else {
          result = s / sqrt(f32(len));
        }
      }
      default: {}
    }
  }
  out[b * h + c] = result;
}
