// quantize_bits.wgsl — sentence-transformers' ubinary quantization: bit = x > 0, packed 8 per byte
// MSB-first (numpy.packbits order), each row on its own ceil(D/8) bytes.
//
// Output layout: the packed bytes of all rows back to back, byte k of row r at byte offset
// r·ceil(D/8) + k, stored in a u32 buffer little-endian (byte offset o is bits 8·(o%4)..8·(o%4)+7
// of word o/4). Read the buffer as a Uint8Array and row r is bytes [r·nb, (r+1)·nb), nb =
// ceil(D/8); the tail of the last word is zero. A row whose D is not a multiple of 8 ends in a byte
// padded with zero bits, as numpy.packbits(..., axis=-1) pads. (sentence-transformers packs the
// flattened [B, D] array, which only agrees when D % 8 == 0; for other D it mixes rows or fails.)
// 'binary' (int8) is ubinary − 128, done on the host. NaN compares false, so it packs as 0, as numpy.
// Positive denormals (< 1.2e-38) may pack as 0: GPUs may flush them to zero before the compare.
//
// Bindings: 0 params (uniform), 1 x [rows, inStride] (first `dims` columns used), 2 out u32
//           [ceil(rows·ceil(D/8) / 4)].
// Dispatch: a 2-D grid of WG-thread workgroups, one thread per output u32 word (four bytes, which
//           may straddle rows), word (wid.y · num_workgroups.x + wid.x) · WG + lid; each word has
//           exactly one writer, so no atomics.

override WG: u32 = 64;

struct Params {
  rows: u32,
  dims: u32,
  in_stride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// Byte `k` of `row`: bit 7 is column 8k, bit 0 column 8k+7; columns past dims are 0.
fn pack_byte(row: u32, k: u32) -> u32 {
  var byte = 0u;
  let base = row * params.in_stride;
  for (var b = 0u; b < 8u; b++) {
    let col = k * 8u + b;
    if (col < params.dims && x[base + col] > 0.0) {
      byte |= 0x80u >> b;
    }
  }
  return byte;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let word = (wid.y * groups.x + wid.x) * WG + lid;
  let bytes_per_row = (params.dims + 7u) / 8u;
  let total_bytes = params.rows * bytes_per_row;
  if (word * 4u >= total_bytes) {
    return;
  }
  var packed = 0u;
  for (var j = 0u; j < 4u; j++) {
    let o = word * 4u + j;
    if (o < total_bytes) {
      packed |= pack_byte(o / bytes_per_row, o % bytes_per_row) << (8u * j);
    }
  }
  out[word] = packed;
}
