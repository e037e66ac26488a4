// One progress stream per load. A page shows one bar ("Loading 37%") and, if it likes, what is
// happening ("Downloading model.safetensors 12.3 / 87.1 MB", "Compiling kernels 9/14").
//
// Phases, in the order a load starts them: download → parse → upload → compile → ready. Uploads
// and pipeline compiles overlap (a model body compiles its kernels, then uploads its weights, then
// the heads do the same), so upload and compile events may interleave; `progress` is the one
// number that is always safe to show: it never decreases and the last event, `ready`, is exactly 1.

export type LoadPhase = 'download' | 'parse' | 'upload' | 'compile' | 'ready';

export interface LoadProgress {
  phase: LoadPhase;
  /** The file (download, parse), tensor (upload) or kernel (compile) this event is about. */
  item?: string;
  /** Bytes of `item` read so far and its size when known (download only). */
  itemLoaded?: number;
  itemTotal?: number;
  /**
   * This phase so far and in all: bytes for download and upload, files for parse, pipelines for
   * compile. `total` is known up front for downloads wherever the source lists its files (hub,
   * folder, picked files); otherwise it grows as each response announces its Content-Length.
   */
  loaded: number;
  total: number;
  /** The whole load, 0…1: monotonic, exactly 1 on `ready` (the last event). */
  progress: number;
  /** Milliseconds since the load started. */
  elapsedMs: number;
}

export type ProgressCallback = (p: LoadProgress) => void;

/** Share of the bar each phase fills (downloads dominate a cold load). */
const WEIGHT: Record<Exclude<LoadPhase, 'ready'>, number> = { download: 0.7, parse: 0.05, upload: 0.15, compile: 0.1 };

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

interface PhaseState {
  loaded: number;
  total: number;
  startMs?: number;
  endMs?: number;
}

/** Accumulates work per phase and emits LoadProgress events; also keeps each phase's wall time. */
export class LoadTracker {
  private readonly t0 = now();
  private readonly phases: Record<Exclude<LoadPhase, 'ready'>, PhaseState> = {
    download: { loaded: 0, total: 0 },
    parse: { loaded: 0, total: 0 },
    upload: { loaded: 0, total: 0 },
    compile: { loaded: 0, total: 0 },
  };
  /** Per-file download state: bytes so far and the size counted into the total. */
  private readonly files = new Map<string, { loaded: number; counted: number }>();
  private last = 0;
  private done = false;

  constructor(private readonly callback?: ProgressCallback) {}

  /** Files the load will read, with the sizes a listing gave: the download total up front. */
  plan(files: readonly { path: string; size: number | undefined }[]): void {
    for (const f of files) {
      if (this.files.has(f.path)) continue;
      const counted = f.size ?? 0;
      this.files.set(f.path, { loaded: 0, counted });
      this.phases.download.total += counted;
    }
  }

  /** Bytes of one file read so far (cumulative) and its size when known. */
  download(path: string, loaded: number, size: number | undefined): void {
    let f = this.files.get(path);
    if (!f) {
      f = { loaded: 0, counted: 0 };
      this.files.set(path, f);
    }
    const d = this.phases.download;
    d.startMs ??= now();
    // The total follows the best knowledge of each file's size: the announced size, or at least
    // what has arrived.
    const counted = Math.max(size ?? 0, loaded);
    d.total += counted - f.counted;
    f.counted = counted;
    d.loaded += loaded - f.loaded;
    f.loaded = loaded;
    d.endMs = now();
    this.emit('download', { item: path, itemLoaded: loaded, itemTotal: size ?? undefined });
  }

  /** A planned file that the load turned out not to need (e.g. an optional one it never read). */
  private unplanUnread(): void {
    const d = this.phases.download;
    for (const [path, f] of this.files) {
      if (f.loaded < f.counted) {
        d.total -= f.counted - f.loaded;
        f.counted = f.loaded;
        this.files.set(path, f);
      }
    }
  }

  /** Start counting a phase's units (parse: files; upload: bytes; compile: pipelines). */
  expect(phase: 'parse' | 'upload' | 'compile', total: number): void {
    this.phases[phase].total += total;
  }

  /** `units` more of a phase's work done, about `item`. */
  advance(phase: 'parse' | 'upload' | 'compile', item: string, units: number): void {
    const p = this.phases[phase];
    p.startMs ??= now();
    p.loaded += units;
    if (p.loaded > p.total) p.total = p.loaded;
    p.endMs = now();
    this.emit(phase, { item });
  }

  /** The last event: every phase complete, progress exactly 1. */
  ready(): void {
    this.unplanUnread();
    for (const p of Object.values(this.phases)) p.total = p.loaded;
    this.done = true;
    this.callback?.({ phase: 'ready', loaded: 1, total: 1, progress: 1, elapsedMs: now() - this.t0 });
  }

  /** Wall time of each phase (first to last event) and of the whole load, in ms. */
  timeline(): Record<Exclude<LoadPhase, 'ready'>, number> & { totalMs: number } {
    const span = (p: PhaseState) => (p.startMs === undefined ? 0 : (p.endMs ?? p.startMs) - p.startMs);
    return {
      download: span(this.phases.download),
      parse: span(this.phases.parse),
      upload: span(this.phases.upload),
      compile: span(this.phases.compile),
      totalMs: now() - this.t0,
    };
  }

  private fraction(): number {
    let f = 0;
    for (const [name, p] of Object.entries(this.phases) as [keyof typeof WEIGHT, PhaseState][]) {
      f += WEIGHT[name] * (p.total > 0 ? Math.min(1, p.loaded / p.total) : 0);
    }
    // Below 1 until ready(): the bar reaches its end only when the engine can serve.
    return Math.min(f, 0.999);
  }

  private emit(phase: Exclude<LoadPhase, 'ready'>, extra: Pick<LoadProgress, 'item' | 'itemLoaded' | 'itemTotal'>): void {
    if (this.done || !this.callback) return;
    this.last = Math.max(this.last, this.fraction());
    const p = this.phases[phase];
    const event: LoadProgress = { phase, ...extra, loaded: p.loaded, total: p.total, progress: this.last, elapsedMs: now() - this.t0 };
    if (event.itemTotal === undefined) delete event.itemTotal;
    if (event.itemLoaded === undefined) delete event.itemLoaded;
    this.callback(event);
  }
}

const MB = (n: number) => (n / 1e6).toFixed(1);

/**
 * A progress callback that writes one line per phase change and per 10% of the load (the CLI's
 * stderr lines): `wgpool: loading org/name: download 40% (35.2/87.1 MB)`.
 */
export function progressLines(model: string, write: (line: string) => void): ProgressCallback {
  let phase: LoadPhase | undefined;
  let step = -1;
  return (p) => {
    // The epsilon keeps 0.7 × 0.1 (0.06999…) from printing as 6%.
    const s = Math.floor(p.progress * 10 + 1e-9);
    if (p.phase === phase && s === step) return;
    phase = p.phase;
    step = s;
    const pct = `${Math.floor(p.progress * 100 + 1e-9)}%`;
    const detail =
      p.phase === 'download' || p.phase === 'upload'
        ? ` (${MB(p.loaded)}/${MB(p.total)} MB)`
        : p.phase === 'compile'
          ? ` (${p.loaded}/${p.total} kernels)`
          : p.phase === 'ready'
            ? ` in ${Math.round(p.elapsedMs)} ms`
            : '';
    write(`wgpool: loading ${model}: ${p.phase} ${pct}${detail}`);
  };
}
