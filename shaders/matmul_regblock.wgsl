// matmul_regblock.wgsl — y[M, N] = act(x[M, K] · Wᵀ + bias) + residual; each thread an 8×8 register
// block, no shared memory.
//
// Made for CPU implementations of WebGPU (SwiftShader): there, workgroup memory and barriers are
// plain memory and thread switches, so reuse has to come from registers. A thread loads 8 rows of x
// and 8 rows of W once per k step and does 64 multiply-adds with them, 4 k at a time as vec4s. On
// SwiftShader this runs 10–15× the naive kernel (bench/matmul). The block is written out in full on
// purpose: the same code as loops over function-local arrays ran 3× slower (the arrays stayed in
// memory), and reading x and W as vec4s rather than 4 scalars gained another ~25%.
//
// Bindings: 0 params (uniform {M, N, K}), 1 x [M, K], 2 w [N, K] (row-major (out, in), as stored in
//           safetensors), 3 bias [N] (read only when HAS_BIAS), 4 residual [M, N] (read only when
//           HAS_RESIDUAL), 5 y [M, N] (must not alias x, w or residual).
// Dispatch: (ceil(N / (8·WG_X)), ceil(M / (8·WG_Y)), 1) workgroups of WG_X × WG_Y threads; global
//           thread (i, j) owns rows 8j..8j+7 and columns 8i..8i+7 of y.
// Entry points (same bindings and layout; the host picks one per shape):
//           main       K % 4 == 0: x and W read as vec4 rows (x4, w4), one bounds clamp per 4 values.
//           main_any_k any K: the same block over scalar views (x, w) of the same buffers, the last
//                      partial quad of each row zero-filled. A vec4 view cannot serve odd K: a row then
//                      starts mid-vec4, and the buffer's last few floats are not a whole vec4.
//           The two views share bindings 1 and 2, which WGSL allows because no entry point uses both.
// Edges:   rows/columns past M/N are clamped onto the last row/column for loading (so the k loop has
//           no branches) and dropped when storing.
// Switches: HAS_BIAS, ACT (0 none, 1 exact GELU, 2 SiLU, 3 tanh), HAS_RESIDUAL. The residual is added
//           after the activation (BERT's dense + residual before LayerNorm, Qwen3's o_proj/down_proj).
// Weights: W is array<WEIGHT_T>, an alias the host declares (f32, or f16 with `enable f16;`:
//           src/gpu/storage_dtype.ts); every read widens to f32.
// Numerics: f32 accumulation; each output sums its K products in quads (dot of 4), then across quads.

override WG_X: u32 = 8;
override WG_Y: u32 = 8;
override HAS_BIAS: bool = false;
override ACT: u32 = 0;
override HAS_RESIDUAL: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w4: array<vec4<WEIGHT_T>>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<WEIGHT_T>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

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

// Elements k..k+3 of the row of x starting at element `row`; zeros past K. The min() keeps every read
// inside the row, so the last row never reads past the end of the buffer.
fn x_quad(row: u32, k: u32, K: u32) -> vec4<f32> {
  let last = row + K - 1u;
  return vec4<f32>(
    x[row + k],
    select(0.0, x[min(row + k + 1u, last)], k + 1u < K),
    select(0.0, x[min(row + k + 2u, last)], k + 2u < K),
    select(0.0, x[min(row + k + 3u, last)], k + 3u < K),
  );
}

fn w_quad(row: u32, k: u32, K: u32) -> vec4<f32> {
  let last = row + K - 1u;
  return vec4<f32>(
    f32(w[row + k]),
    select(0.0, f32(w[min(row + k + 1u, last)]), k + 1u < K),
    select(0.0, f32(w[min(row + k + 2u, last)]), k + 2u < K),
    select(0.0, f32(w[min(row + k + 3u, last)]), k + 3u < K),
  );
}

// K % 4 == 0.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K4 = params.K / 4u;
  let m0 = gid.y * 8u;
  let n0 = gid.x * 8u;
  if (m0 >= M || n0 >= N) {
    return;
  }
  // Start of each row of x and W in vec4s, edge rows clamped onto the last one.
  let r0 = min(m0, M - 1u) * K4;
  let r1 = min(m0 + 1u, M - 1u) * K4;
  let r2 = min(m0 + 2u, M - 1u) * K4;
  let r3 = min(m0 + 3u, M - 1u) * K4;
  let r4 = min(m0 + 4u, M - 1u) * K4;
  let r5 = min(m0 + 5u, M - 1u) * K4;
  let r6 = min(m0 + 6u, M - 1u) * K4;
  let r7 = min(m0 + 7u, M - 1u) * K4;
  let c0 = min(n0, N - 1u) * K4;
  let c1 = min(n0 + 1u, N - 1u) * K4;
  let c2 = min(n0 + 2u, N - 1u) * K4;
  let c3 = min(n0 + 3u, N - 1u) * K4;
  let c4 = min(n0 + 4u, N - 1u) * K4;
  let c5 = min(n0 + 5u, N - 1u) * K4;
  let c6 = min(n0 + 6u, N - 1u) * K4;
  let c7 = min(n0 + 7u, N - 1u) * K4;
  // acc{i}l / acc{i}h: row m0+i, columns n0..n0+3 / n0+4..n0+7.
  var acc0l = vec4<f32>();
  var acc0h = vec4<f32>();
  var acc1l = vec4<f32>();
  var acc1h = vec4<f32>();
  var acc2l = vec4<f32>();
  var acc2h = vec4<f32>();
  var acc3l = vec4<f32>();
  var acc3h = vec4<f32>();
  var acc4l = vec4<f32>();
  var acc4h = vec4<f32>();
  var acc5l = vec4<f32>();
  var acc5h = vec4<f32>();
  var acc6l = vec4<f32>();
  var acc6h = vec4<f32>();
  var acc7l = vec4<f32>();
  var acc7h = vec4<f32>();
  for (var k = 0u; k < K4; k++) {
    // Columns of bl/bh are W rows, so a · bl = (dot(a, w_n0), …, dot(a, w_n0+3)).
    let bl = mat4x4<f32>(vec4<f32>(w4[c0 + k]), vec4<f32>(w4[c1 + k]), vec4<f32>(w4[c2 + k]), vec4<f32>(w4[c3 + k]));
    let bh = mat4x4<f32>(vec4<f32>(w4[c4 + k]), vec4<f32>(w4[c5 + k]), vec4<f32>(w4[c6 + k]), vec4<f32>(w4[c7 + k]));
    let a0 = x4[r0 + k];
    acc0l += a0 * bl;
    acc0h += a0 * bh;
    let a1 = x4[r1 + k];
    acc1l += a1 * bl;
    acc1h += a1 * bh;
    let a2 = x4[r2 + k];
    acc2l += a2 * bl;
    acc2h += a2 * bh;
    let a3 = x4[r3 + k];
    acc3l += a3 * bl;
    acc3h += a3 * bh;
    let a4 = x4[r4 + k];
    acc4l += a4 * bl;
    acc4h += a4 * bh;
    let a5 = x4[r5 + k];
    acc5l += a5 * bl;
    acc5h += a5 * bh;
    let a6 = x4[r6 + k];
    acc6l += a6 * bl;
    acc6h += a6 * bh;
    let a7 = x4[r7 + k];
    acc7l += a7 * bl;
    acc7h += a7 * bh;
  }
  store4(m0, n0, acc0l);
  store4(m0, n0 + 4u, acc0h);
  store4(m0 + 1u, n0, acc1l);
  store4(m0 + 1u, n0 + 4u, acc1h);
  store4(m0 + 2u, n0, acc2l);
  store4(m0 + 2u, n0 + 4u, acc2h);
  store4(m0 + 3u, n0, acc3l);
  store4(m0 + 3u, n0 + 4u, acc3h);
  store4(m0 + 4u, n0, acc4l);
  store4(m0 + 4u, n0 + 4u, acc4h);
  store4(m0 + 5u, n0, acc5l);
  store4(m0 + 5u, n0 + 4u, acc5h);
  store4(m0 + 6u, n0, acc6l);
  store4(m0 + 6u, n0 + 4u, acc6h);
  store4(m0 + 7u, n0, acc7l);
  store4(m0 + 7u, n0 + 4u, acc7h);
}

// Any K (the host uses it when K % 4 != 0).
@compute @workgroup_size(WG_X, WG_Y)
fn main_any_k(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let m0 = gid.y * 8u;
  let n0 = gid.x * 8u;
  if (m0 >= M || n0 >= N) {
    return;
  }
  // Start of each row of x and W in floats, edge rows clamped onto the last one.
  let r0 = min(m0, M - 1u) * K;
  let r1 = min(m0 + 1u, M - 1u) * K;
  let r2 = min(m0 + 2u, M - 1u) * K;
  let r3 = min(m0 + 3u, M - 1u) * K;
  let r4 = min(m0 + 4u, M - 1u) * K;
  let r5 = min(m0 + 5u, M - 1u) * K;
  let r6 = min(m0 + 6u, M - 1u) * K;
  let r7 = min(m0 + 7u, M - 1u) * K;
  let c0 = min(n0, N - 1u) * K;
  let c1 = min(n0 + 1u, N - 1u) * K;
  let c2 = min(n0 + 2u, N - 1u) * K;
  let c3 = min(n0 + 3u, N - 1u) * K;
  let c4 = min(n0 + 4u, N - 1u) * K;
  let c5 = min(n0 + 5u, N - 1u) * K;
  let c6 = min(n0 + 6u, N - 1u) * K;
  let c7 = min(n0 + 7u, N - 1u) * K;
  // acc{i}l / acc{i}h: row m0+i, columns n0..n0+3 / n0+4..n0+7.
  var acc0l = vec4<f32>();
  var acc0h = vec4<f32>();
  var acc1l = vec4<f32>();
  var acc1h = vec4<f32>();
  var acc2l = vec4<f32>();
  var acc2h = vec4<f32>();
  var acc3l = vec4<f32>();
  var acc3h = vec4<f32>();
  var acc4l = vec4<f32>();
  var acc4h = vec4<f32>();
  var acc5l = vec4<f32>();
  var acc5h = vec4<f32>();
  var acc6l = vec4<f32>();
  var acc6h = vec4<f32>();
  var acc7l = vec4<f32>();
  var acc7h = vec4<f32>();
  for (var k = 0u; k < K; k += 4u) {
    // Columns of bl/bh are W rows, so a · bl = (dot(a, w_n0), …, dot(a, w_n0+3)).
    let bl = mat4x4<f32>(w_quad(c0, k, K), w_quad(c1, k, K), w_quad(c2, k, K), w_quad(c3, k, K));
    let bh = mat4x4<f32>(w_quad(c4, k, K), w_quad(c5, k, K), w_quad(c6, k, K), w_quad(c7, k, K));
    let a0 = x_quad(r0, k, K);
    acc0l += a0 * bl;
    acc0h += a0 * bh;
    let a1 = x_quad(r1, k, K);
    acc1l += a1 * bl;
    acc1h += a1 * bh;
    let a2 = x_quad(r2, k, K);
    acc2l += a2 * bl;
    acc2h += a2 * bh;
    let a3 = x_quad(r3, k, K);
    acc3l += a3 * bl;
    acc3h += a3 * bh;
    let a4 = x_quad(r4, k, K);
    acc4l += a4 * bl;
    acc4h += a4 * bh;
    let a5 = x_quad(r5, k, K);
    acc5l += a5 * bl;
    acc5h += a5 * bh;
    let a6 = x_quad(r6, k, K);
    acc6l += a6 * bl;
    acc6h += a6 * bh;
    let a7 = x_quad(r7, k, K);
    acc7l += a7 * bl;
    acc7h += a7 * bh;
  }
  store4(m0, n0, acc0l);
  store4(m0, n0 + 4u, acc0h);
  store4(m0 + 1u, n0, acc1l);
  store4(m0 + 1u, n0 + 4u, acc1h);
  store4(m0 + 2u, n0, acc2l);
  store4(m0 + 2u, n0 + 4u, acc2h);
  store4(m0 + 3u, n0, acc3l);
  store4(m0 + 3u, n0 + 4u, acc3h);
  store4(m0 + 4u, n0, acc4l);
  store4(m0 + 4u, n0 + 4u, acc4h);
  store4(m0 + 5u, n0, acc5l);
  store4(m0 + 5u, n0 + 4u, acc5h);
  store4(m0 + 6u, n0, acc6l);
  store4(m0 + 6u, n0 + 4u, acc6h);
  store4(m0 + 7u, n0, acc7l);
  store4(m0 + 7u, n0 + 4u, acc7h);
}

// epilogue(): shaders/matmul_epilogue.wgsl, appended to this source by src/kernels/matmul.ts.
