// gather.ts — the index-driven kernels: embedding gather, per-sequence pooling, the gated
// linear units (SwiGLU, GeGLU), and sign-bit packing. CPU twins of shaders/embedding.wgsl,
// pool.wgsl, glu.wgsl and quantize_bits.wgsl, with the same layouts and edge rules.

import { vgelu, vgeluTanh, vsilu } from './vmath';

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

@inline function row(table: usize, r: u32, rows: i32, n: i32): usize {
  // Out-of-range ids clamp to the last row, as the WGSL kernel does (the host validates ids first).
  const c = min(r, <u32>(rows - 1));
  return table + ((<usize>c * <usize>n) << 2);
}

/** out[t] = word[ids[t]] (+ position[positions[t]]) (+ tokenType[types[t]]), tokens [t0, t1). */
export function embedding(
  ids: usize, positions: usize, types: usize, word: usize, position: usize, tokenType: usize, out: usize,
  hidden: i32, vocab: i32, maxPositions: i32, typeVocab: i32, t0: i32, t1: i32,
): void {
  for (let t = t0; t < t1; t++) {
    const w = row(word, load<u32>(at(ids, t)), vocab, hidden);
    const p = position ? row(position, load<u32>(at(positions, t)), maxPositions, hidden) : 0;
    const y = tokenType ? row(tokenType, load<u32>(at(types, t)), typeVocab, hidden) : 0;
    const o = out + ((<usize>t * <usize>hidden) << 2);
    let i = 0;
    for (; i + 4 <= hidden; i += 4) {
      let v = v128.load(at(w, i));
      if (p) v = f32x4.add(v, v128.load(at(p, i)));
      if (y) v = f32x4.add(v, v128.load(at(y, i)));
      v128.store(at(o, i), v);
    }
    for (; i < hidden; i++) {
      let v = load<f32>(at(w, i));
      if (p) v += load<f32>(at(p, i));
      if (y) v += load<f32>(at(y, i));
      store<f32>(at(o, i), v);
    }
  }
}

const MODE_CLS: u32 = 0;
const MODE_MEAN: u32 = 1;
const MODE_MAX: u32 = 2;
const MODE_LAST: u32 = 3;
const MODE_MEAN_SQRT_LEN: u32 = 4;

/**
 * out[b] = pool(hidden[cuSeqLens[b] .. cuSeqLens[b+1])) with modes[b] (POOL_MODE values); an empty
 * segment or unknown mode writes zeros. Sums accumulate in token order, divided once at the end.
 */
export function pool(hidden: usize, cuSeqLens: usize, modes: usize, out: usize, batch: i32, H: i32): void {
  for (let b = 0; b < batch; b++) {
    const s = <i32>load<u32>(at(cuSeqLens, b));
    const e = <i32>load<u32>(at(cuSeqLens, b + 1));
    const mode = load<u32>(at(modes, b));
    const o = out + ((<usize>b * <usize>H) << 2);
    const len = e - s;
    const known = mode <= MODE_MEAN_SQRT_LEN;
    if (len <= 0 || !known) {
      for (let c = 0; c < H; c++) store<f32>(at(o, c), 0);
      continue;
    }
    if (mode == MODE_CLS || mode == MODE_LAST) {
      const src = hidden + ((<usize>(mode == MODE_CLS ? s : e - 1) * <usize>H) << 2);
      memory.copy(o, src, <usize>H << 2);
      continue;
    }
    const first = hidden + ((<usize>s * <usize>H) << 2);
    memory.copy(o, first, <usize>H << 2);
    for (let t = s + 1; t < e; t++) {
      const r = hidden + ((<usize>t * <usize>H) << 2);
      let c = 0;
      if (mode == MODE_MAX) {
        for (; c + 4 <= H; c += 4) v128.store(at(o, c), f32x4.max(v128.load(at(o, c)), v128.load(at(r, c))));
        for (; c < H; c++) store<f32>(at(o, c), max(load<f32>(at(o, c)), load<f32>(at(r, c))));
      } else {
        for (; c + 4 <= H; c += 4) v128.store(at(o, c), f32x4.add(v128.load(at(o, c)), v128.load(at(r, c))));
        for (; c < H; c++) store<f32>(at(o, c), load<f32>(at(o, c)) + load<f32>(at(r, c)));
      }
    }
    if (mode == MODE_MEAN || mode == MODE_MEAN_SQRT_LEN) {
      const d: f32 = mode == MODE_MEAN ? <f32>len : Mathf.sqrt(<f32>len);
      for (let c = 0; c < H; c++) store<f32>(at(o, c), load<f32>(at(o, c)) / d);
    }
  }
}

@inline function gluAct(v: v128, act: i32): v128 {
  if (act == 0) return vsilu(v);
  if (act == 2) return vgeluTanh(v);
  return vgelu(v);
}

@inline function gluRows(gateUp: usize, out: usize, inter: i32, act: i32, second: i32, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const x = gateUp + ((<usize>t * <usize>inter) << 3);
    const y = x + (<usize>inter << 2);
    const a = second ? y : x;
    const b = second ? x : y;
    const o = out + ((<usize>t * <usize>inter) << 2);
    let j = 0;
    for (; j + 4 <= inter; j += 4) v128.store(at(o, j), f32x4.mul(gluAct(v128.load(at(a, j)), act), v128.load(at(b, j))));
    for (; j < inter; j++) store<f32>(at(o, j), f32x4.extract_lane(gluAct(f32x4.splat(load<f32>(at(a, j))), act), 0) * load<f32>(at(b, j)));
  }
}

/**
 * out[t, j] = act(a) · b over the halves x = gateUp[t, 0..I), y = gateUp[t, I..2I) for tokens
 * [t0, t1): second 0 → a = x, b = y; second 1 → a = y, b = x. act as glu.wgsl's ACT: 0 silu,
 * 1 erf GELU, 2 GELU's tanh approximation. One loop per activation with its code constant: with
 * `act` a variable binaryen made gluAct's first branch a br_if whose value (the SiLU) was computed
 * for every vector whatever the activation (see assembly/matmul.ts's epilogue).
 */
export function glu(gateUp: usize, out: usize, inter: i32, act: i32, second: i32, t0: i32, t1: i32): void {
  if (act == 0) gluRows(gateUp, out, inter, 0, second, t0, t1);
  else if (act == 2) gluRows(gateUp, out, inter, 2, second, t0, t1);
  else gluRows(gateUp, out, inter, 1, second, t0, t1);
}

/**
 * ubinary: bit = x > 0, 8 per byte MSB-first (numpy.packbits), row r at bytes [r·nb, (r+1)·nb),
 * nb = ceil(dims / 8), padded with zero bits; the tail of the last u32 word is zeroed. NaN packs 0.
 */
export function quantizeBits(x: usize, out: usize, rows: i32, dims: i32, inStride: i32): void {
  const nb = (dims + 7) >> 3;
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>inStride) << 2);
    for (let k = 0; k < nb; k++) {
      let byte: u32 = 0;
      for (let b = 0; b < 8; b++) {
        const c = (k << 3) + b;
        if (c < dims && load<f32>(at(src, c)) > 0) byte |= 0x80 >> b;
      }
      store<u8>(out + <usize>(r * nb + k), <u8>byte);
    }
  }
  const total = rows * nb;
  const padded = (total + 3) & ~3;
  for (let o = total; o < padded; o++) store<u8>(out + <usize>o, 0);
}
