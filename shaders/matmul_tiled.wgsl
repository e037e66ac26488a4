// matmul_tiled.wgsl — y[M, N] = act(x[M, K] · Wᵀ + bias) + residual, shared-memory tiled for GPUs.
//
// Each workgroup computes a 64×64 tile of y. Per step of 16 along K it stages a 64×16 slab of x and a
// 64×16 slab of W in workgroup memory (each of the 256 threads loads 4 + 4 floats: 4 rows at one k),
// then each thread computes a 4×4 register block from vec4 reads of the staged slabs: 2
// workgroup-memory loads per 16 multiply-adds. This is the
// standard GPU shape (tfjs matmul_packed, ORT WebGPU MatMul); on SwiftShader the barriers and
// workgroup memory make it slower than matmul_regblock, so the host picks per adapter.
//
// Bindings: 0 params (uniform {M, N, K}), 1 x [M, K], 2 w [N, K] (row-major (out, in), as stored in
//           safetensors), 3 bias [N] (read only when HAS_BIAS), 4 residual [M, N] (read only when
//           HAS_RESIDUAL), 5 y [M, N] (must not alias x, w or residual).
// Dispatch: (ceil(N / 64), ceil(M / 64), 1) workgroups of 16 × 16 threads; local thread (i, j) owns
//           rows 4j..4j+3 and columns 4i..4i+3 of the workgroup's tile.
// Edges:   loads past M, N or K stage zeros, so any M, N, K works; every thread takes part in every
//           load and barrier (uniform control flow) and only the stores are bounds-checked.
// Switches: HAS_BIAS, ACT (0 none, 1 exact GELU, 2 SiLU, 3 tanh), HAS_RESIDUAL. The residual is added
//           after the activation (BERT's dense + residual before LayerNorm, Qwen3's o_proj/down_proj).
// Weights: W is array<WEIGHT_T>, an alias the host declares (f32, or f16 with `enable f16;`:
//           src/gpu/storage_dtype.ts); every read widens to f32.
// Numerics: f32 accumulation in k order.

override HAS_BIAS: bool = false;
override ACT: u32 = 0;
override HAS_RESIDUAL: bool = false;

const TILE: u32 = 64;  // rows of x and of W per workgroup
const BK: u32 = 16;    // k per staged slab
const WG: u32 = 16;    // threads per side; each does TILE / WG = 4 rows × 4 columns
// Staged slabs are k-major (xs[k][row quad]) so a thread reads its 4 rows as one vec4. One vec4 of
// padding per k spreads the transposing stores (consecutive threads: consecutive k) over more banks.
const STRIDE: u32 = TILE / 4 + 1; // vec4s per k
// Staging gives each thread one (row quad, k) pair of the slab.
const_assert TILE / 4 * BK == WG * WG;

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<WEIGHT_T>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> xs: array<vec4<f32>, BK * STRIDE>;
var<workgroup> ws: array<vec4<f32>, BK * STRIDE>;

@compute @workgroup_size(WG, WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) t: u32,
) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let tile_m = wid.y * TILE;
  let tile_n = wid.x * TILE;

  var acc0 = vec4<f32>(); // row 4·lid.y + 0, columns 4·lid.x .. +3
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();

  // Staging: the slab is 16 row-quads × 16 k, one (quad, k) pair per thread. A thread reads 4 rows at
  // one k (for each row, 16 consecutive threads read 16 consecutive floats) and stores them as one
  // whole vec4: threads writing single components of a shared vec4 would race, since WGSL lets a
  // component store rewrite the whole vector.
  let quad = t / BK;
  let kk_load = t % BK;
  let row_x = tile_m + 4u * quad;
  let row_w = tile_n + 4u * quad;

  // No early return anywhere: the loop bound is uniform, so every barrier is reached by all threads.
  for (var k0 = 0u; k0 < K; k0 += BK) {
    let gk = k0 + kk_load;
    xs[kk_load * STRIDE + quad] = vec4<f32>(load_x(row_x, gk), load_x(row_x + 1u, gk), load_x(row_x + 2u, gk), load_x(row_x + 3u, gk));
    ws[kk_load * STRIDE + quad] = vec4<f32>(load_w(row_w, gk), load_w(row_w + 1u, gk), load_w(row_w + 2u, gk), load_w(row_w + 3u, gk));
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[kk * STRIDE + lid.y];
      let b = ws[kk * STRIDE + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }

  let m = tile_m + 4u * lid.y;
  let n = tile_n + 4u * lid.x;
  store4(m, n, acc0);
  store4(m + 1u, n, acc1);
  store4(m + 2u, n, acc2);
  store4(m + 3u, n, acc3);
}

// x[m, k], or 0 outside x.
fn load_x(m: u32, k: u32) -> f32 {
  if (m < params.M && k < params.K) {
    return x[m * params.K + k];
  }
  return 0.0;
}

// W[n, k], or 0 outside W.
fn load_w(n: u32, k: u32) -> f32 {
  if (n < params.N && k < params.K) {
    return f32(w[n * params.K + k]);
  }
  return 0.0;
}

// Columns n..n+3 of row m, dropping what falls outside y.
fn store4(m: u32, n: u32, v: vec4<f32>) {
  if (m >= params.M) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (n + j < params.N) {
      y[m * params.N + n + j] = epilogue(m, n + j, v[j]);
    }
  }
}

// epilogue(): shaders/matmul_epilogue.wgsl, appended to this source by src/kernels/matmul.ts.
