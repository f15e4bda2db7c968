// The request's live status: message, indicator, countdown, cancel and "again" buttons, and on
// a final screen its own title and the widget's number for visitors (a tel: link), if it has one.
import { callApi, requestPath } from './api.js';
import { element, listen, safe } from './dom.js';
import { keepHandle, storedHandle } from './request_store.js';
import { fetchSession } from './session.js';
import { followRequest } from './status_follow.js';
import { countdownText } from './features/countdown.js';

// Final and nobody talked: the site's analytics hear "callback_missed".
const MISSED = ['no_operator', 'visitor_busy', 'visitor_no_answer', 'pbx_error', 'held'];
// The main button says "Закрыть" where nobody should ask again now (final_action).
const CLOSING = ['close', 'call'];

const indicatorClass = (status) =>
  'cbw-ind' +
  (status.status === 'finished' || status.status === 'scheduled'
    ? ' cbw-ok'
    : status.status === 'connected'
      ? ' cbw-live'
      : status.final
        ? ' cbw-end'
        : '');

export function createStatusView(panel) {
  const { texts, widget } = panel;
  const callUs = widget.look.call_us; // {href: "tel:+7…", text: "Позвонить: +7 …"} or null
  const parts = {
    indicator: element('div', { cls: 'cbw-ind', 'aria-hidden': 'true' }),
    message: element('p', { cls: 'cbw-msg', role: 'status', 'aria-live': 'polite' }),
    countdown: element('p', { cls: 'cbw-cd', hidden: true }),
    cancel: element('button', { cls: 'cbw-btn cbw-sec', type: 'button', hidden: true, text: texts.cancel }),
    again: element('button', { cls: 'cbw-btn', type: 'button', hidden: true }),
    call: /^tel:/.test(callUs?.href) ? element('a', { cls: 'cbw-btn', href: callUs.href, text: callUs.text, hidden: true }) : null,
  };
  const view = element('div', { cls: 'cbw-st', tabindex: '-1', hidden: true }, ...Object.values(parts));
  const state = { handle: null, current: null, follower: null, startedAt: 0, clock: 0, cancelling: false, reported: {} };

  const showStatus = (shown) => {
    panel.form.element.hidden = shown;
    if (panel.intro) panel.intro.hidden = shown;
    view.hidden = !shown;
    panel.say('');
  };
  // The honest countdown: "Позвоним в течение 30 с" counts down while operators are rung; past
  // its promise it counts the wait up ("Ждём уже 0:45") beside the server's word on what is going on.
  const tick = () => {
    const promised = state.promised;
    const current = state.current;
    const ringing = !!current && !current.final && (current.status === 'queued' || current.status === 'calling_operator');
    const counting = ringing && !!state.startedAt && promised > 0 && (!!texts.waited || Date.now() - state.startedAt < promised * 1000);
    parts.countdown.hidden = !counting;
    if (counting) parts.countdown.textContent = countdownText(texts, promised, state.startedAt);
    else if (!ringing) clearInterval(state.clock);
  };
  const finish = () => {
    if (state.follower) state.follower.stop();
    state.follower = null;
    clearInterval(state.clock);
    state.handle = null;
    keepHandle(widget.key, null);
  };
  const render = (status) => {
    if (state.current && state.current.final && !status.final) return; // a stale answer
    state.current = status;
    const focused = panel.root.activeElement;
    const { final, final_action: action } = status;
    panel.host.setAttribute('data-status', String(status.status));
    // A final screen's title says what happens now ("Звонка не будет"), not "Мы перезвоним вам".
    panel.caption.textContent = (final && status.title) || panel.heading;
    parts.message.textContent = status.message || '';
    parts.cancel.hidden = !status.cancellable || !!final;
    parts.again.hidden = !final;
    // "We will call you back" is not followed by "request another call" (status final_action).
    parts.again.textContent = CLOSING.includes(action) ? texts.close : texts.again;
    const call = parts.call;
    if (call) {
      // Nobody will call back: calling us is the main button; nobody talked: the second one.
      const first = action === 'call';
      call.hidden = !final || !(first || MISSED.includes(status.status) || status.status === 'error');
      call.className = first ? 'cbw-btn' : 'cbw-btn cbw-sec';
      parts.again.className = first ? 'cbw-btn cbw-sec' : 'cbw-btn';
      parts.again[first ? 'before' : 'after'](call);
    }
    report(status);
    parts.indicator.className = indicatorClass(status);
    tick();
    if (status.final) finish();
    if (focused && focused.hidden) view.focus(); // the focused button just disappeared
  };
  // Goals once per request; a request restored after a reload already told its past.
  const report = (status) => {
    // "finished" means a talk took place, even when a poll never caught "connected".
    const talked = status.status === 'connected' || status.status === 'finished';
    const name = talked ? 'callback_connected' : status.final && MISSED.includes(status.status) ? 'callback_missed' : '';
    if (!name || state.reported[name]) return;
    state.reported[name] = true;
    if (!state.quiet) panel.goal(name, { handle: state.handle, status: status.status, department: panel.department });
  };
  const start = (answer, quiet) => {
    finish();
    state.handle = answer.handle;
    keepHandle(widget.key, state.handle);
    state.current = null;
    state.reported = {};
    state.quiet = !!quiet;
    // A request restored after a reload: when it was made is unknown here, so no countdown.
    state.startedAt = quiet ? 0 : Date.now();
    // From the ring plan (the 202's wait_seconds); an older server's look has a fixed promise.
    state.promised = +answer.status?.wait_seconds || +widget.look.countdown_seconds || 0;
    showStatus(true);
    render(answer.status && answer.status.status ? answer.status : { status: 'queued', cancellable: true });
    state.quiet = false;
    if (!quiet) view.focus(); // the submit button is gone
    state.clock = setInterval(safe(tick), 1000);
    if (state.current.final) return;
    state.follower = followRequest({
      client: widget.client,
      handle: state.handle,
      streamed: !!widget.look.status_stream,
      intervalMs: Math.max(250, +widget.look.poll_interval_ms || 1000),
      talkingMs: +widget.look.poll_interval_talking_ms, // the server's WIDGET_STATUS_POLL_TALKING_MS
      latest: () => state.current,
      onStatus: render,
      onLost: (message) => render({ status: 'error', final: true, message: message || texts.error_network }),
    });
  };

  listen(parts.cancel, 'click', () => cancel(panel, state, parts, render));
  listen(parts.again, 'click', () => {
    const closing = CLOSING.includes(state.current?.final_action);
    const resting = state.resting;
    finish();
    state.current = null;
    if (resting) render(resting); // nothing can be sent: back to that screen, never the form
    else {
      showStatus(false);
      panel.form.reset(); // consent is given per request
      panel.host.setAttribute('data-status', 'idle');
      if (!closing && !widget.preview) fetchSession(panel); // a token old enough to send unchecked (form.js)
    }
    if (closing) panel.close();
    else (resting ? view : panel.form.focusTarget()).focus();
  });
  listen(document, 'visibilitychange', () => {
    if (!document.hidden && state.follower) state.follower.refresh();
  });
  return {
    element: view,
    start,
    /** Nothing can be sent (closed, no free time for a call): this final screen instead of the form. */
    rest(status) {
      state.resting = status;
      showStatus(true);
      render(status);
    },
    /** A request from the last page view, still running, comes back on screen. */
    async restore() {
      const handle = storedHandle(widget.key);
      if (!handle || state.handle) return;
      let answer;
      try {
        answer = await callApi(widget.client, 'GET', requestPath(handle));
      } catch (_) {
        return; // offline: next time
      }
      if (state.handle) return;
      if (answer.status === 200 && answer.body.status && !answer.body.final) start({ handle, status: answer.body }, true);
      else keepHandle(widget.key, null);
    },
  };
}

async function cancel(panel, state, parts, render) {
  const handle = state.handle;
  if (!handle || state.cancelling) return;
  state.cancelling = true; // not .disabled: that drops focus
  try {
    const { status, body } = await callApi(panel.widget.client, 'POST', requestPath(handle, 'cancel'), {});
    if (handle !== state.handle) return;
    if (status === 200 && body.status) return render(body);
    if (status === 409) {
      // too late
      parts.cancel.hidden = true;
      parts.cancel.parentNode.focus();
    }
    panel.say(status < 500 && body.message ? body.message : panel.texts.error_network);
  } catch (_) {
    panel.say(panel.texts.error_network);
  } finally {
    state.cancelling = false;
  }
}
