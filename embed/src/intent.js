// First signs that a visitor may open the widget: then (or once the page is idle) the panel loads.
import { listen } from './dom.js';

const IDLE_AFTER_LOAD_MS = 3000;

/** Calls `prepare` on hover, focus or touch of the button or of the page's own buttons, or when idle. */
export function watchIntent(host, prepare) {
  // From the document, an event inside the shadow root comes from the host: the button.
  const onButton = (event) => event.target === host || event.target.closest?.('[data-callback-widget]');
  const intent = (event) => onButton(event) && prepare();
  for (const type of ['pointerover', 'focusin', 'touchstart']) listen(document, type, intent, { passive: true });
  // Idle time after load (the loader calls this once the page has loaded): the rest is there
  // before most visitors reach for it, off the critical path.
  setTimeout(() => (window.requestIdleCallback || setTimeout)(prepare), IDLE_AFTER_LOAD_MS);
}
