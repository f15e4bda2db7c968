/* The loader: the entry served as /embed.js. It draws the button, hooks the page's own
 * [data-callback-widget] elements and loads the rest (panel.js) on first intent. */
import { drawButton } from './button.js';
import { addStyles, element, icon, listen, safe, warn } from './dom.js';
import { watchIntent } from './intent.js';
import { fetchLook } from './look.js';
import { loadPanel } from './panel_script.js';
import { beacon } from './features/beacon.js';
import { touch } from './features/source.js';
import { st } from './features/store.js';
import { variant } from './features/variant.js';

// What the panel takes from the loader instead of bundling its own copy (see shared.js).
const SHARED = { addStyles, element, icon, listen, safe, warn, beacon, st };

// Read now: currentScript is only set while this file first runs.
const script = document.currentScript || document.querySelector('script[data-widget]');
const previous = window.CallbackWidget;
if (typeof previous?.open !== 'function') start();

function start() {
  // The session's first page and referrer (the request's source, whenever it comes), in a
  // task of its own: sessionStorage's first read is slow (6 ms at 4x CPU).
  setTimeout(safe(touch));
  let phase = 'loading'; // then 'shown', or 'failed' for good
  let pendingOpener = null;
  let widget = null; // what the panel is given: key, base, client, look, variant, preview, button, open
  let panel = null;
  let panelLoading = null;

  const panelReady = () => {
    // Built in a task after the panel's own evaluation: two short tasks, not one long one.
    panelLoading = panelLoading || loadPanel(widget.base, SHARED).then((createPanel) => new Promise((built) => setTimeout(() => built((panel = createPanel(widget))))));
    panelLoading.catch(() => (panelLoading = null)); // a later intent tries again
    return panelLoading;
  };
  const open = safe((from) => {
    if (phase === 'failed') return;
    if (phase === 'loading') return void (pendingOpener = from || true);
    const active = document.activeElement;
    const opener = from?.focus ? from : active === widget.button.host ? widget.button.button : active;
    return panelReady().then((ready) => ready.open(opener));
  });
  const close = safe(() => panel?.close());
  const run = safe((command) => {
    const [name, ...args] = Array.isArray(command) ? command : [command];
    if (name === 'open') open(...args);
    else if (name === 'close') close();
  });
  window.CallbackWidget = { open: () => open(), close, q: { push: run } };
  if (Array.isArray(previous?.q)) previous.q.forEach(run); // calls queued by a stub
  // The owner's own buttons. Until the widget is shown, or if it never is, a link keeps
  // its own action (a tel: link still calls); a button opens the widget once it is ready.
  listen(document, 'click', (event) => {
    const target = event.target?.closest?.('[data-callback-widget]');
    if (!target || phase === 'failed' || (phase === 'loading' && target.closest('a[href]'))) return;
    event.preventDefault();
    open(target);
  });

  // safe() logs why a step failed; the widget then stays out of the way for good.
  const begin = safe(async () => {
    widget = await readLook();
    // The preview shows button and dialog together: the panel is there before the button.
    const createPanel = widget.preview && (await loadPanel(widget.base, SHARED));
    const button = (widget.button = drawButton(widget.look, widget.picked?.texts?.button));
    phase = 'shown';
    widget.open = open; // the panel's triggers open the widget as the page's buttons do
    if (createPanel) panelLoading = Promise.resolve((panel = createPanel(widget)));
    listen(button.button, 'click', () => (panel?.isOpen() ? close() : open(button.button)));
    watchIntent(button.host, () => panelReady().catch(warn));
    // A server without the funnel (a look without contract 2's extras) is sent no beacons.
    // Its own task too: the page's first sendBeacon is slow.
    if (!widget.preview && widget.look.analytics) setTimeout(safe(() => beacon(widget.client.base, widget.key, 'impression', widget.variant)));
    if (pendingOpener) open(pendingOpener === true ? null : pendingOpener);
    // A request from the last page view still running comes back with the panel (at the
    // latest when the page is idle): localStorage's first read is slow, so not here.
  });
  // After the page has loaded: the widget's request and drawing never compete with the
  // page's own content for the network or the main thread (its largest paint comes first).
  // Its own task, not a part of the load event's (a long task for the page is the sum).
  const soon = () => setTimeout(() => begin().catch(() => (phase = 'failed')));
  if (document.readyState === 'complete') soon();
  else listen(window, 'load', soon);
}

/** The widget's key, addresses and look, from the script tag and the look document. */
async function readLook() {
  const { widget: key, lang, api, preview } = script?.dataset || {};
  if (!key) throw new Error('no data-widget key on the script tag');
  // The server the loader came from serves the panel; data-api may name another for the API.
  // script.src is absolute already; string work, not URL: its parser's first use is slow.
  const [, origin, path] = script.src.match(/^([^:/?#]+:\/\/[^/?#]*)([^?#]*)/);
  const base = origin + path.replace(/(\/embed\/[^/]+)?\/embed\.js$/, '');
  const client = { base: (api || origin).replace(/\/+$/, ''), lang: /^(ru|en)$/.test(lang) ? lang : '' };
  // data-preview: the config page's preview, all given, nothing fetched.
  const look = preview ? JSON.parse(preview) : await fetchLook(client, key);
  // An A/B test running: this visitor's variant, the same on every visit. The button may take
  // its text; the panel applies the rest (withVariant).
  const picked = !preview && variant(look.variants);
  return { key, base, client, look, picked, variant: picked?.id, preview: preview && look };
}
