// First signs that a visitor may open the widget: then (or when the page is idle) the panel loads.
import { listen } from './dom.js';

const IDLE_AFTER_LOAD_MS = 3000;

/** Calls `prepare` once: on hover, focus or touch of the button or of the page's own buttons, or when idle. */
export function watchIntent(button, prepare) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    prepare();
  };
  for (const type of ['pointerenter', 'focus', 'touchstart']) listen(button, type, once, { passive: true });
  const ownIntent = (event) => {
    if (event.target && event.target.closest && event.target.closest('[data-callback-widget]')) once();
  };
  for (const type of ['pointerover', 'focusin', 'touchstart']) listen(document, type, ownIntent, { passive: true });
  // Idle time after load: the rest is there before most visitors reach for it, off the critical path.
  const whenIdle = () => {
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 1));
    setTimeout(() => idle(once, { timeout: IDLE_AFTER_LOAD_MS }), IDLE_AFTER_LOAD_MS);
  };
  if (document.readyState === 'complete') whenIdle();
  else listen(window, 'load', whenIdle);
}
