// A packed, padding-free batch of sequences of the given lengths, as the kernels take it:
// cuSeqLens (B + 1 prefix sums), seqOf (the sequence of every token) and T (all tokens).
export function packed(lens: readonly number[]) {
  const cu = [0];
  for (const l of lens) cu.push(cu[cu.length - 1] + l);
  const seqOf: number[] = [];
  lens.forEach((l, b) => seqOf.push(...Array(l).fill(b)));
  return { cu: Uint32Array.from(cu), seqOf: Uint32Array.from(seqOf), T: cu[cu.length - 1] };
}
