// hamming_scores.wgsl — the binary (ubinary) scan of the vector index: scores[q, i] = −hamming(
// query q bits, row i bits), the negated number of differing sign bits, so that "larger is better"
// as for cosine and the same top_k kernel selects from it. countOneBits(a ^ b) on u32 words.
//
// Layout: both inputs are what quantize_bits.wgsl writes: rows of nb = ceil(D/8) bytes back to back
// in a u32 buffer, little-endian (byte o is bits 8·(o%4).. of word o/4), zero-padded bits past D.
// When nb is a multiple of 4 (D a multiple of 32, e.g. 384) each row starts on a word and the scan
// reads whole words; otherwise a row may start mid-word and the scan goes byte by byte. Padding bits
// are zero on both sides, so they never count.
//
// Bindings: 0 params (uniform), 1 query_bits [Q rows] u32, 2 corpus_bits [count rows] u32,
//           3 scores [Q, count] f32.
// Dispatch: (gx, gy, Q) workgroups of WG threads; one thread per (q = wid.z, row i), with
//           i = (wid.y · num_workgroups.x + wid.x) · WG + lid.

override WG: u32 = 64;

struct Params {
  count: u32,
  /** Packed bytes per row, ceil(D / 8). */
  row_bytes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> query_bits: array<u32>;
@group(0) @binding(2) var<storage, read> corpus_bits: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

fn query_byte(o: u32) -> u32 {
  return (query_bits[o / 4u] >> (8u * (o % 4u))) & 0xffu;
}

fn corpus_byte(o: u32) -> u32 {
  return (corpus_bits[o / 4u] >> (8u * (o % 4u))) & 0xffu;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  let q = wid.z;
  if (i >= params.count) {
    return;
  }
  let nb = params.row_bytes;
  var diff = 0u;
  if (nb % 4u == 0u) {
    let words = nb / 4u;
    let a = q * words;
    let b = i * words;
    for (var w = 0u; w < words; w++) {
      diff += countOneBits(query_bits[a + w] ^ corpus_bits[b + w]);
    }
  } else {
    let a = q * nb;
    let b = i * nb;
    for (var k = 0u; k < nb; k++) {
      diff += countOneBits(query_byte(a + k) ^ corpus_byte(b + k));
    }
  }
  scores[q * params.count + i] = -f32(diff);
}
