/* The loader: the entry served as /embed.js. It draws the button, hooks the page's own
 * [data-callback-widget] elements and loads the rest (panel.js) on first intent. */
import { createClient, fetchLook } from './look.js';
import { drawButton } from './button.js';
import { listen, safe, warn } from './dom.js';
import { watchIntent } from './intent.js';
import { loadPanel } from './panel_script.js';
import { beacon } from './features/beacon.js';
import { touch } from './features/source.js';
import { variant, withVariant } from './features/variant.js';


// Read now: currentScript is only set while this file first runs.
const script = document.currentScript || document.querySelector('script[data-widget]');
const previous = window.CallbackWidget;
if (!(previous && typeof previous.open === 'function')) start();

function start() {
  touch(); // the session's first page and referrer: the request's source, whenever it comes
  let phase = 'loading'; // then 'shown', or 'failed' for good
  let pendingOpener = null;
  let widget = null; // what the panel is given: key, client, look, button, preview
  let panel = null;
  let panelLoading = null;

  const panelReady = () => {
    panelLoading = panelLoading || loadPanel(widget.base).then((createPanel) => (panel = createPanel(widget)));
    panelLoading.catch(() => (panelLoading = null)); // a later intent tries again
    return panelLoading;
  };
  const open = safe((from) => {
    if (phase === 'failed') return;
    if (phase === 'loading') return void (pendingOpener = from || true);
    const active = document.activeElement;
    const opener = from && from.focus ? from : active === widget.button.host ? widget.button.button : active;
    return panelReady().then((ready) => ready.open(opener));
  });
  const close = safe(() => panel && panel.close());
  const run = safe((command) => {
    const [name, ...args] = Array.isArray(command) ? command : [command];
    if (name === 'open') open(...args);
    else if (name === 'close') close();
  });
  window.CallbackWidget = { open: () => open(), close, q: { push: run } };
  if (previous && Array.isArray(previous.q)) previous.q.forEach(run); // calls queued by a stub
  // The owner's own buttons. Until the widget is shown, or if it never is, a link keeps
  // its own action (a tel: link still calls); a button opens the widget once it is ready.
  listen(document, 'click', (event) => {
    const target = event.target && event.target.closest && event.target.closest('[data-callback-widget]');
    if (!target || phase === 'failed' || (phase === 'loading' && target.closest('a[href]'))) return;
    event.preventDefault();
    open(target);
  });

  const show = () => {
    const button = (widget.button = drawButton(widget.look));
    phase = 'shown';
    if (widget.createPanel) panelLoading = Promise.resolve((panel = widget.createPanel(widget)));
    listen(button.button, 'click', () => (panel && panel.isOpen() ? close() : open(button.button)));
    watchIntent(button.host, () => panelReady().catch(warn));
    widget.open = open; // the panel's triggers open the widget as the page's buttons do
    // A server without the funnel (a look without contract 2's extras) is sent no beacons.
    if (!widget.preview && widget.look.analytics) beacon(widget.client.base, widget.key, 'impression', widget.variant);
    if (pendingOpener) open(pendingOpener === true ? null : pendingOpener);
    else if (panel && widget.look.preview_open) panel.show();
    // A request from the last page view still running comes back with the panel (at the
    // latest when the page is idle): localStorage's first read is slow, so not here.
  };
  // safe() logs why; the widget then stays out of the way for good.
  const begin = () =>
    safe(async () => {
      widget = await readLook();
      // The preview shows button and dialog together.
      if (widget.preview) widget.createPanel = await loadPanel(widget.base);
      show();
    })().catch(() => (phase = 'failed'));
  // After the page has loaded: the widget's request and drawing never compete with the
  // page's own content for the network or the main thread (its largest paint comes first).
  // Its own task, not a part of the load event's (a long task for the page is the sum).
  const soon = () => setTimeout(begin, 0);
  if (document.readyState === 'complete') soon();
  else listen(window, 'load', soon);
}

/** The widget's key, addresses and look, from the script tag and the look document. */
async function readLook() {
  if (!script) throw new Error('script tag not found');
  const key = script.getAttribute('data-widget');
  if (!key) throw new Error('data-widget attribute is missing');
  // The server the loader came from serves the panel; data-api may name another for the API.
  const source = new URL(script.src, location.href);
  const base = source.origin + source.pathname.replace(/(\/embed\/[^/]+)?\/embed\.js$/, '');
  let lang = script.getAttribute('data-lang');
  if (!/^(ru|en)$/.test(lang || '')) lang = '';
  const client = createClient((script.getAttribute('data-api') || source.origin).replace(/\/+$/, ''), lang);
  const preview = script.getAttribute('data-preview'); // the config page's preview: all given, nothing fetched
  const look = preview ? JSON.parse(preview) : await fetchLook(client, key);
  // An A/B test running: this visitor's variant (texts, triggers), the same on every visit.
  const picked = preview ? null : variant(look.variants);
  return { key, base, client, look: withVariant(look, picked), variant: picked && picked.id, preview: preview ? look : null };
}
