// The widget's dialog, loaded on first intent: a modal with the form, then the request's status.
import { addStyles, element, icon, listen, safe } from './dom.js';
import { createForm } from './form.js';
import PANEL_CSS from './panel.css';
import { storedHandle } from './request_store.js';
import { fetchSession } from './session.js';
import { createStatusView } from './status_view.js';
import { beacon } from './features/beacon.js';
import { goal } from './features/goals.js';
import { snooze, watch } from './features/triggers.js';
import { withVariant } from './features/variant.js';

const CLOSE_ICON = 'M6 6l12 12M18 6L6 18';

/** Builds the dialog beside the loader's button; `widget` is the loader's state (look, client, button). */
export function createPanel(widget) {
  const { host, root, button, frame } = widget.button;
  widget.look = withVariant(widget.look, widget.picked); // the A/B variant's texts and triggers
  const texts = widget.look.texts;
  addStyles(root, PANEL_CSS);
  const panel = { widget, texts, root, host, session: widget.preview, opener: null };
  const backdrop = element('div', { cls: 'cbw-bd', hidden: true });
  const closeButton = element('button', { cls: 'cbw-x', type: 'button', 'aria-label': texts.close }, icon(CLOSE_ICON));
  let dialog = null;
  panel.alert = element('div', { cls: 'cbw-a', role: 'alert' });
  panel.say = (text) => {
    panel.alert.textContent = text || '';
  };
  // Contract 6: the site's analytics and window events hear of the visitor's steps (not the preview's).
  panel.goal = (name, detail) => widget.preview || goal(name, { widget: widget.key, ...detail }, widget.look.analytics);
  panel.status = createStatusView(panel);
  let form = null;

  const isOpen = () => !!dialog && !dialog.hidden;
  const focusFirst = () => (form.element.hidden ? panel.status.element : form.focusTarget()).focus();
  const reveal = () => {
    backdrop.hidden = dialog.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  };
  // The dialog needs the session (open or closed, slots): built once, when first shown.
  const build = async () => {
    if (dialog) return;
    const failure = panel.session ? '' : await fetchSession(panel);
    if (dialog) return;
    const closed = panel.session.open === false;
    form = createForm(panel, {
      onAccepted: (answer, department) => {
        panel.department = department;
        panel.goal('callback_submitted', { handle: answer.handle, department, status: answer.status && answer.status.status });
        panel.status.start(answer);
      },
    });
    panel.form = form;
    const introText = closed ? (form.hasSlots ? texts.closed_intro : texts.no_slots) : texts.intro;
    panel.intro = introText ? element('p', { cls: 'cbw-intro', text: introText }) : null;
    panel.heading = closed ? texts.closed_title : texts.title; // a final screen puts its own title here
    const title = (panel.caption = element('h2', { cls: 'cbw-title', id: 'cbw-title', text: panel.heading }));
    dialog = element(
      'div',
      { cls: 'cbw-dlg', id: 'cbw-dlg', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'cbw-title', hidden: true },
      element('div', { cls: 'cbw-head' }, title, closeButton),
      panel.intro,
      panel.alert,
      form.element,
      panel.status.element,
    );
    frame.append(backdrop, dialog);
    button.setAttribute('aria-controls', 'cbw-dlg'); // now that it exists
    panel.say(failure);
    // Closed, and no free time for a call: a form could send nothing. The number to call, or close.
    if (closed && !form.hasSlots) panel.status.rest({ status: 'closed', final: true, message: texts.no_slots, final_action: 'call' });
    panel.status.restore();
  };
  let opening = null;
  const api = {
    isOpen,
    async open(opener) {
      if (isOpen() || opening) return;
      opening = build();
      try {
        await opening;
      } finally {
        opening = null;
      }
      if (isOpen()) return;
      panel.opener = opener;
      reveal();
      focusFirst();
      if (!widget.preview && widget.look.analytics) beacon(widget.client.base, widget.key, 'open', widget.variant);
      panel.goal('callback_opened', {});
    },
    close() {
      if (!isOpen()) return;
      if (!widget.preview) snooze(widget.key); // "not again for N days" counts from here
      backdrop.hidden = dialog.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      const opener = panel.opener;
      panel.opener = null;
      if (opener && opener !== document.body && opener.isConnected && opener.focus) opener.focus();
    },
    /** Shown without taking focus: the config page's preview. */
    show: safe(async () => {
      await build();
      reveal();
    }),
  };
  panel.focusFirst = () => focusFirst();
  panel.close = () => api.close();
  listen(backdrop, 'click', api.close);
  listen(closeButton, 'click', api.close);
  // Modal: focus that wanders to the host page comes back.
  listen(document, 'focusin', (event) => {
    if (isOpen() && event.target !== host) focusFirst();
  });
  listen(document, 'keydown', (event) => onKey(event, { dialog, form, isOpen, close: api.close, root }), true);
  // The owner's triggers (the panel loads at the first intent or when the page is idle).
  if (!widget.preview) watch(widget.key, widget.look.triggers, () => widget.open(), () => storedHandle(widget.key));
  // A request from the last page view shows up without waiting for a click; the preview, whole.
  if (widget.preview || storedHandle(widget.key)) build().catch(() => {});
  if (widget.preview?.preview_open) api.show(); // the config page shows the dialog beside the button
  host.setAttribute('data-ready', ''); // the panel runs: its triggers and keys are live
  return api;
}

// Esc, Tab trap, Enter submits. On document: works even if focus fell to <body>.
function onKey(event, { dialog, form, isOpen, close, root }) {
  if (!isOpen() || !form) return;
  const active = root.activeElement;
  if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    close();
  } else if (event.key === 'Enter' && active && active.tagName === 'INPUT' && !form.element.hidden) {
    event.preventDefault(); // even with submit disabled: explain the consent
    form.submit();
  } else if (event.key === 'Tab') {
    const focusable = [...dialog.querySelectorAll('button,input,select,a[href]')].filter(
      (node) => !node.disabled && node.getClientRects().length,
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (!active || (event.shiftKey ? active === first : active === last)) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  }
}

// Handing createPanel to the loader that added this script (see panel_script.js).
document.currentScript.callbackWidgetPanel.resolve(createPanel);
