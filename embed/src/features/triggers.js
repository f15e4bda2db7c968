// Contract 2's behavioural triggers, all off unless the look sets them: open after N
// seconds, at a scroll depth, on exit intent (a mouse leaving at the top: desktop only),
// only on a return visit, only on some paths (`*` any run of characters), never for N
// days after the visitor closed the widget, never while they have a request going, and
// at most once a browser session. `open` is the widget's own open; `busy()` says whether
// a request is going. Returns a function that stops watching.
import { get, set } from './store.js';

const DAY = 864e5;

export const seen = (key) => {
  // A return visit: this browser saw the widget in an earlier session.
  const before = get('localStorage', 'cbw-seen-' + key);
  if (!get('sessionStorage', 'cbw-visit-' + key)) set('sessionStorage', 'cbw-visit-' + key, before ? 'r' : 'n');
  set('localStorage', 'cbw-seen-' + key, '1');
  return get('sessionStorage', 'cbw-visit-' + key) === 'r';
};

export const snooze = (key) => set('localStorage', 'cbw-closed-' + key, String(Date.now()));

const onPath = (paths, path) => !paths || !paths.length || paths.some((p) =>
  new RegExp('^' + p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$').test(path));

export function watch(key, t, open, busy, w = window) {
  const stops = [], stop = () => stops.forEach((f) => f());
  if (!t) return stop;
  const back = seen(key), closed = +get('localStorage', 'cbw-closed-' + key) || 0;
  if (!onPath(t.paths, w.location.pathname) || (t.return_visit && !back)) return stop;
  if (t.snooze_days && Date.now() - closed < t.snooze_days * DAY) return stop;
  if (get('sessionStorage', 'cbw-auto-' + key)) return stop;
  const fire = () => {
    stop();
    if (busy()) return;
    set('sessionStorage', 'cbw-auto-' + key, '1');
    open();
  };
  const on = (target, type, f) => { target.addEventListener(type, f, { passive: true }); stops.push(() => target.removeEventListener(type, f)); };
  if (t.after_seconds != null) { const id = setTimeout(fire, t.after_seconds * 1e3); stops.push(() => clearTimeout(id)); }
  if (t.scroll_percent != null) on(w, 'scroll', () => {
    const d = w.document.documentElement, room = d.scrollHeight - w.innerHeight;
    if (room <= 0 || (w.scrollY / room) * 100 >= t.scroll_percent) fire();
  });
  if (t.exit_intent && w.matchMedia('(hover: hover) and (pointer: fine)').matches) on(w.document, 'mouseout', (e) => {
    if (!e.relatedTarget && e.clientY <= 0) fire();
  });
  // Only "return visit" set: the visitor who came back is offered the widget at once.
  if (t.return_visit && t.after_seconds == null && t.scroll_percent == null && !t.exit_intent) fire();
  return stop;
}
