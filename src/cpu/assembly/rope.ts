// rope.ts — rotary position embedding in place on q or k heads of a fused QKV matrix, with
// Qwen3's per-head RMSNorm (q_norm / k_norm) first when normW ≠ 0; the CPU twin of shaders/rope.wgsl:
//   head j of token t: x[t·stride + offset + j·hd .. +hd), j < numHeads
//   norm:   x ← x · rsqrt(mean(x²) + eps) · g, g = w, or 1 + w with unitOffset (Gemma3's q/k norm)
//   rotate-half, i < hd/2, θ = pos · invFreq[i]:
//     (x_i, x_{i+hd/2}) ← (x_i cos θ − x_{i+hd/2} sin θ, x_{i+hd/2} cos θ + x_i sin θ)
// Angles: invFreq is float64 from the host (theta^(−2i/hd)), θ and cos/sin are float64 (WASM's
// f64 and a musl-accurate Math.cos/sin), rounded to f32 once per (token, frequency) into `cs`
// (scratch of hd floats: cos then sin) and shared by all heads of the token. This is what the
// WGSL kernel's fixed-point angle emulates on GPUs that have no f64.
// Threads: a call covers tokens [t0, t1); each needs its own `cs` scratch.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

export function rope(
  x: usize, positions: usize, normW: usize, invFreq: usize, cs: usize,
  numHeads: i32, stride: i32, offset: i32, hd: i32, eps: f32, unitOffset: i32, t0: i32, t1: i32,
): void {
  const half = hd >> 1;
  const one = f32x4.splat(unitOffset ? 1 : 0);
  const oneS: f32 = unitOffset ? 1 : 0;
  for (let t = t0; t < t1; t++) {
    const pos = <f64>load<u32>(at(positions, t));
    for (let i = 0; i < half; i++) {
      const a = pos * load<f64>(invFreq + (<usize>i << 3));
      store<f32>(at(cs, i), <f32>Math.cos(a));
      store<f32>(at(cs, half + i), <f32>Math.sin(a));
    }
    for (let j = 0; j < numHeads; j++) {
      const base = x + ((<usize>t * <usize>stride + <usize>(offset + j * hd)) << 2);
      if (normW) {
        let acc = f32x4.splat(0);
        let i = 0;
        for (; i + 4 <= hd; i += 4) {
          const v = v128.load(at(base, i));
          acc = f32x4.add(acc, f32x4.mul(v, v));
        }
        let ss = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; i < hd; i++) ss += load<f32>(at(base, i)) * load<f32>(at(base, i));
        const inv = <f32>1 / Mathf.sqrt(ss / <f32>hd + eps);
        const s = f32x4.splat(inv);
        i = 0;
        for (; i + 4 <= hd; i += 4) v128.store(at(base, i), f32x4.mul(f32x4.mul(v128.load(at(base, i)), s), f32x4.add(v128.load(at(normW, i)), one)));
        for (; i < hd; i++) store<f32>(at(base, i), load<f32>(at(base, i)) * inv * (load<f32>(at(normW, i)) + oneS));
      }
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const a = v128.load(at(base, i));
        const b = v128.load(at(base, half + i));
        const c = v128.load(at(cs, i));
        const s = v128.load(at(cs, half + i));
        v128.store(at(base, i), f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
        v128.store(at(base, half + i), f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
      }
      for (; i < half; i++) {
        const a = load<f32>(at(base, i));
        const b = load<f32>(at(base, half + i));
        const c = load<f32>(at(cs, i));
        const s = load<f32>(at(cs, half + i));
        store<f32>(at(base, i), a * c - b * s);
        store<f32>(at(base, half + i), b * c + a * s);
      }
    }
  }
}
