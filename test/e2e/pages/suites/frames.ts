// The page's requestAnimationFrame loop, counted while a suite works the engine: the check that the
// page keeps animating (Web Worker engine, Service Worker, the tab soaks).

/** Count animation frames until stop(): how many, and the longest gap between two (ms). */
export function countFrames(): { stop(): { frames: number; maxGap: number } } {
  let frames = 0;
  let maxGap = 0;
  let last = performance.now();
  let running = true;
  const tick = (t: number) => {
    frames++;
    maxGap = Math.max(maxGap, t - last);
    last = t;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return {
    stop() {
      running = false;
      return { frames, maxGap };
    },
  };
}
