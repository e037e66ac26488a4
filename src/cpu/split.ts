// How a kernel call splits across the CPU backend's threads (src/cpu/threads.ts). Each work item
// writes a disjoint range of the output, and a row's arithmetic never depends on the split (same k
// order, same tile code), so results are bit-identical for any thread count: batch invariance holds.
// A matmul is cut into several items per thread (ITEMS_PER_THREAD), claimed by whichever thread is
// free, so a thread the OS deschedules for a while (a shared machine) does not hold up the step.
//
// A call is split only when it is worth a wake-up: waking a parked worker costs a few tens of µs,
// the time a 128-bit core spends on ~10⁵ flops, so smaller calls run whole on the calling thread.

import { MAX_ITEMS, type Part } from './threads';

/** Below this many flops a call runs on one thread (CpuOptions.minSplitFlops overrides it). */
export const MIN_SPLIT_FLOPS = 1 << 18;

/** Who runs a call: the context's thread count and its split threshold. */
export interface SplitPolicy {
  threads: number;
  minSplitFlops: number;
}

/** [0, n) as at most `parts` contiguous ranges, each a multiple of `align` long but the last. */
export function chunks(n: number, parts: number, align = 1): [number, number][] {
  const size = Math.max(align, Math.ceil(n / parts / align) * align);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

/** The matmul's 6-row register tile: a row split on tile boundaries keeps every thread on full tiles. */
const TILE_ROWS = 6;
/** Rows per matmul item at most: the kernel's cache block (MC in assembly/matmul.ts), a few ms of work. */
const MAX_ITEM_ROWS = 48;
/** Work items per thread a split matmul aims at: enough that the others absorb a descheduled thread's share. */
export const ITEMS_PER_THREAD = 4;

/**
 * matmul(…, m0, m1, p0, p1) work items: by rows when every thread gets at least two row tiles
 * (batches), else by 8-column panels (a short query: a few rows, many columns), else whole. Row
 * items are whole tiles of at most MAX_ITEM_ROWS rows (more only past MAX_ITEMS items).
 */
export function matmulParts({ threads, minSplitFlops }: SplitPolicy, M: number, N: number, K: number, args: (m0: number, m1: number, p0: number, p1: number) => number[]): Part[] {
  const panels = Math.ceil(N / 8);
  if (threads > 1 && 2 * M * N * K >= minSplitFlops) {
    const items = threads * ITEMS_PER_THREAD;
    if (M >= 2 * TILE_ROWS * threads) {
      const rows = Math.max(Math.min(Math.ceil(M / items / TILE_ROWS) * TILE_ROWS, MAX_ITEM_ROWS), Math.ceil(M / MAX_ITEMS / TILE_ROWS) * TILE_ROWS);
      return chunks(M, Math.ceil(M / rows), TILE_ROWS).map(([m0, m1]) => args(m0, m1, 0, panels));
    }
    if (panels >= 2) return chunks(panels, Math.min(items, panels)).map(([p0, p1]) => args(0, M, p0, p1));
  }
  return [args(0, M, 0, panels)];
}

/**
 * Items over heads [0, heads) for attention: one per thread at most, since each item needs its own
 * scratch row and the caller sizes the scratch by the thread count.
 */
export function headParts({ threads, minSplitFlops }: SplitPolicy, heads: number, flops: number, args: (part: number, h0: number, h1: number) => number[]): Part[] {
  if (threads < 2 || heads < 2 || flops < minSplitFlops) return [args(0, 0, heads)];
  return chunks(heads, threads).map(([h0, h1], i) => args(i, h0, h1));
}
