/*! Call-back widget loader. One tag: <script async src="https://HOST/embed.js" data-widget="KEY"></script>
 * Draws the button, hooks the page's [data-callback-widget] elements, and loads the rest on first intent.
 * Source: embed/src/ (see embed/README.md). */
import { callApi, createClient, widgetPath } from './api.js';
import { drawButton } from './button.js';
import { listen, safe, warn } from './dom.js';
import { watchIntent } from './intent.js';
import { loadPanel } from './panel_script.js';
import { storedHandle } from './request_store.js';

const LOOK_TIMEOUT_MS = 8000; // a hung API must not keep the widget "loading" for ever

// Read now: currentScript is only set while this file first runs.
const script = document.currentScript || document.querySelector('script[data-widget]');
const previous = window.CallbackWidget;
if (!(previous && typeof previous.open === 'function')) start();

function start() {
  const widget = { phase: 'loading', pendingOpener: null, panel: null, look: null, button: null };
  const open = safe((from) => openWidget(widget, from));
  const close = safe(() => widget.panel && widget.panel.close());
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
    const target = ownButton(event);
    if (!target || widget.phase === 'failed' || (widget.phase === 'loading' && target.closest('a[href]'))) return;
    event.preventDefault();
    open(target);
  });
  // safe() has logged the reason.
  safe(boot)(widget).catch(() => {
    widget.phase = 'failed';
  });
}

const ownButton = (event) => event.target && event.target.closest && event.target.closest('[data-callback-widget]');

async function boot(widget) {
  if (!script) throw new Error('script tag not found');
  const key = script.getAttribute('data-widget');
  if (!key) throw new Error('data-widget attribute is missing');
  // The server the loader came from serves the panel; data-api may name another for the API.
  const server = new URL(script.src, location.href);
  const base = server.origin + server.pathname.replace(/(\/embed\/[^/]+)?\/embed\.js$/, '');
  let lang = script.getAttribute('data-lang');
  if (!/^(ru|en)$/.test(lang || '')) lang = '';
  const client = createClient((script.getAttribute('data-api') || server.origin).replace(/\/+$/, ''), lang);
  const preview = script.getAttribute('data-preview'); // the config page's preview: all given, nothing fetched
  let answer = { status: 0, body: {} };
  if (preview) answer = { status: 200, body: JSON.parse(preview) };
  else {
    try {
      answer = await callApi(client, 'GET', widgetPath(key, 'look'), null, LOOK_TIMEOUT_MS);
    } catch (_) {
      /* network, timeout */
    }
  }
  if (answer.status !== 200 || !answer.body.texts) {
    const why = answer.status ? 'HTTP ' + answer.status : 'network error';
    throw new Error('config not loaded (' + why + '), the widget stays hidden');
  }
  Object.assign(widget, { key, base, client, look: answer.body, preview: preview ? answer.body : null });
  // The preview shows the whole widget at once, button and dialog together.
  if (preview) widget.createPanel = await loadPanel(base);
  if (document.body) show(widget);
  else listen(document, 'DOMContentLoaded', () => show(widget));
}

function show(widget) {
  widget.button = drawButton(widget.look);
  const { button, host } = widget.button;
  widget.phase = 'shown';
  const prepare = () => panelFor(widget).catch(warn);
  listen(button, 'click', () => (widget.panel && widget.panel.isOpen() ? widget.panel.close() : openWidget(widget, button)));
  watchIntent(button, prepare);
  // The page's focus, when it lands on the host element, belongs to the button.
  widget.hostFocus = () => document.activeElement === host;
  if (widget.createPanel) {
    widget.panel = widget.createPanel(widget);
    widget.panelPromise = Promise.resolve(widget.panel);
  }
  const pending = widget.pendingOpener;
  widget.pendingOpener = null;
  if (pending) openWidget(widget, pending === true ? null : pending);
  else if (widget.look.preview_open) panelFor(widget).then((panel) => panel.show());
  else if (storedHandle(widget.key)) prepare(); // a request from the last page view is still running
}

function openWidget(widget, from) {
  if (widget.phase === 'failed') return;
  if (widget.phase === 'loading') {
    widget.pendingOpener = from || true;
    return;
  }
  const active = document.activeElement;
  const opener = from && from.focus ? from : widget.hostFocus() ? widget.button.button : active;
  return panelFor(widget).then((panel) => panel.open(opener));
}

/** The panel, loaded on first use; later calls get the same one. */
function panelFor(widget) {
  if (!widget.panelPromise) {
    widget.panelPromise = loadPanel(widget.base).then((createPanel) => {
      widget.panel = createPanel(widget);
      return widget.panel;
    });
    widget.panelPromise.catch(() => {
      widget.panelPromise = null;
    });
  }
  return widget.panelPromise;
}
