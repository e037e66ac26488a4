// matmul_naive.wgsl — y[M, N] = act(x[M, K] · Wᵀ + bias) + residual, one output per thread.
//
// The baseline the other matmul variants are measured against: every thread walks a full row of x
// and a full row of W from global memory, with no reuse between threads.
//
// Bindings: 0 params (uniform {M, N, K}), 1 x [M, K], 2 w [N, K] (row-major (out, in), as stored in
//           safetensors), 3 bias [N] (read only when HAS_BIAS), 4 residual [M, N] (read only when
//           HAS_RESIDUAL), 5 y [M, N] (must not alias x, w or residual).
// Dispatch: (ceil(N / WG_X), ceil(M / WG_Y), 1) workgroups of WG_X × WG_Y threads; thread (n, m).
// Switches: HAS_BIAS, ACT (0 none, 1 exact GELU, 2 SiLU, 3 tanh), HAS_RESIDUAL. The residual is added
//           after the activation (BERT's dense + residual before LayerNorm, Qwen3's o_proj/down_proj).
// Weights: W is array<WEIGHT_T>, an alias the host declares (f32, or f16 with `enable f16;`:
//           src/gpu/storage_dtype.ts); every read widens to f32.
// Numerics: f32 accumulation in k order.

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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<WEIGHT_T>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  if (m >= params.M || n >= params.N) {
    return;
  }
  let K = params.K;
  let xr = m * K;
  let wr = n * K;
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    acc += x[xr + k] * f32(w[wr + k]);
  }
  y[m * params.N + n] = epilogue(m, n, acc);
}

// epilogue(): shaders/matmul_epilogue.wgsl, appended to this source by src/kernels/matmul.ts.
