// Drawing on demand: a frame is drawn only after something changed, at most `maxFps` times a second,
// and never while the page is hidden (Page Visibility). The node's own work runs on timers and
// events, which this loop does not touch, so a hidden tab keeps routing and storing.
export interface DrawLoop {
  /** Something changed: draw on the next allowed frame. */
  invalidate(): void;
  destroy(): void;
}

/** `draw` returns true while it animates, to ask for the next frame. */
export function createDrawLoop(draw: (now: number) => boolean, maxFps = 30): DrawLoop {
  const minGap = 1000 / maxFps;
  let dirty = false;
  let frame = 0;
  let last = -Infinity;

  const schedule = () => {
    if (frame === 0 && !document.hidden) frame = requestAnimationFrame(tick);
  };
  const tick = (now: number) => {
    frame = 0;
    if (document.hidden || !dirty) return;
    // rAF runs at the display's rate; skip frames to stay under the cap (2 ms slack for jitter).
    if (now - last < minGap - 2) return schedule();
    last = now;
    dirty = false;
    if (draw(now)) dirty = true;
    if (dirty) schedule();
  };
  const onVisibility = () => {
    if (document.hidden) return;
    dirty = true; // the room moved on while nobody looked
    schedule();
  };
  document.addEventListener('visibilitychange', onVisibility);
  return {
    invalidate() {
      dirty = true;
      schedule();
    },
    destroy() {
      document.removeEventListener('visibilitychange', onVisibility);
      if (frame !== 0) cancelAnimationFrame(frame);
      frame = 0;
    },
  };
}
