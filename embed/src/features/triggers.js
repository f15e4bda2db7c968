// Contract 2's behavioural triggers, all off unless the look sets them: open after N
// seconds, at a scroll depth (the share of the page seen), on exit intent (a mouse
// leaving at the top: desktop only), only on a return visit, only on some paths (`*`:
// any run of characters), never for N days after the visitor closed the widget, never
// while they have a request going (`busy()`), at most once a browser session.
// Only "return visit" set: a visitor who came back is offered the widget at once.
// Loaded with the panel (at the first intent or when the page is idle), so the seconds
// count from the page's start (performance.now), not from when this runs.
import { st } from './store.js';

const S = 'sessionStorage', L = 'localStorage';

export const snooze = (key) => st(L, 'cbw-closed-' + key, Date.now());

export function watch(key, t, open, busy, w = window) {
  if (!t) return;
  const k = 'cbw-' + key, fire = () => done || (done = 1, busy() || (st(S, k + '-auto', 1), open()));
  let done = st(S, k + '-auto') || Date.now() - st(L, 'cbw-closed-' + key) < t.snooze_days * 864e5 ||
    t.paths.length && !t.paths.some((p) => RegExp('^' + p.replace(/[^\w*/]/g, '\\$&').replace(/\*/g, '.*') + '$').test(w.location.pathname));
  if (!done && t.return_visit) {
    // A return visit: this browser saw the widget in an earlier session.
    st(S, k + '-visit') || st(S, k + '-visit', st(L, k + '-seen') ? 'back' : 'new');
    st(L, k + '-seen', 1);
    done = st(S, k + '-visit') != 'back';
  }
  if (t.after_seconds != null) setTimeout(fire, t.after_seconds * 1e3 - w.performance.now());
  if (t.scroll_percent != null) w.addEventListener('scroll', () => (w.scrollY + w.innerHeight) * 100 >= t.scroll_percent * w.document.documentElement.scrollHeight && fire());
  if (t.exit_intent && w.matchMedia('(hover:hover) and (pointer:fine)').matches) w.document.addEventListener('mouseout', (e) => e.relatedTarget || e.clientY > 0 || fire());
  if (t.return_visit && t.after_seconds == null && t.scroll_percent == null && !t.exit_intent) fire();
}
