// Following a request's status: a Server-Sent Events stream when the server offers one,
// polling GET /requests/<handle> when it does not, cannot be opened, or fails.
import { apiUrl, callApi, requestPath } from './api.js';
import { safe } from './dom.js';

const FIRST_MESSAGE_MS = 5000; // the stream sends the status at once on connect
const SCHEDULED_POLL_MS = 15000; // a scheduled call may be hours away: look in now and then
const TALKING_POLL_MS = 5000; // nothing changes quickly during the talk (unless the look says)
const HIDDEN_POLL_MS = 5000;
const MAX_BACKOFF_MS = 10000;
const MAX_FAILURES = 20;

/**
 * Calls `onStatus(view)` for every status of `handle` until a final one, or `onLost(message?)`
 * when it can no longer be read. Returns {stop, refresh}.
 */
export function followRequest({ client, handle, streamed, intervalMs, talkingMs, latest, onStatus, onLost }) {
  const follow = { stopped: false, timer: 0, failures: 0, inflight: false, source: null };
  const stop = () => {
    follow.stopped = true;
    clearTimeout(follow.timer);
    if (follow.source) follow.source.close();
  };
  const report = (view) => {
    onStatus(view);
    if (view.final) stop();
  };
  const delay = () => {
    const status = latest() && latest().status;
    if (status === 'scheduled') return SCHEDULED_POLL_MS;
    if (status === 'connected') return Math.max(talkingMs || TALKING_POLL_MS, intervalMs);
    return document.hidden ? Math.max(HIDDEN_POLL_MS, intervalMs) : intervalMs;
  };
  const schedule = (ms) => {
    clearTimeout(follow.timer);
    if (!follow.stopped) follow.timer = setTimeout(safe(poll), ms || delay());
  };
  const poll = async () => {
    if (follow.stopped) return;
    clearTimeout(follow.timer);
    follow.inflight = true;
    try {
      const { status, body } = await callApi(client, 'GET', requestPath(handle));
      if (follow.stopped) return;
      if (status === 200 && body.status) {
        follow.failures = 0;
        report(body);
        if (body.final) return;
      } else if (status >= 400 && status < 500) {
        stop();
        return onLost(body.message);
      } else follow.failures++;
    } catch (_) {
      if (follow.stopped) return;
      follow.failures++;
    } finally {
      follow.inflight = false;
    }
    if (follow.failures > MAX_FAILURES) {
      stop();
      return onLost();
    }
    schedule(follow.failures ? Math.min(intervalMs * 2 ** follow.failures, MAX_BACKOFF_MS) : 0); // back off
  };
  const fallBack = () => {
    if (follow.source) follow.source.close();
    follow.source = null;
    if (!follow.stopped) poll();
  };
  if (streamed && window.EventSource) openStream(client, handle, follow, report, fallBack);
  else schedule();
  return {
    stop,
    /** Looks in now (the page became visible again), unless a stream is already live. */
    refresh: () => {
      if (!follow.source && !follow.inflight && !follow.stopped) poll();
    },
  };
}

function openStream(client, handle, follow, report, fallBack) {
  const source = new EventSource(apiUrl(client, requestPath(handle, 'events')));
  follow.source = source;
  let heard = false;
  const watchdog = setTimeout(() => heard || fallBack(), FIRST_MESSAGE_MS);
  source.onmessage = safe((event) => {
    let view = null;
    try {
      view = JSON.parse(event.data);
    } catch (_) {
      return; // not ours
    }
    if (!view || !view.status) return;
    heard = true;
    report(view);
  });
  // Not found, refused, dropped: polling takes over (EventSource would retry on its own, unseen).
  source.onerror = safe(() => {
    clearTimeout(watchdog);
    if (!follow.stopped) fallBack();
  });
}
