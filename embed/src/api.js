// The widget API (the client is the loader's {base, lang}) over CORS "simple" requests: no cookies, JSON sent as text/plain, so no preflight.

// Asked once, when the visitor first opens the widget: Intl's first call takes tens of
// milliseconds (its time zone data loads), too long for page load.
function visitorTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch (_) {
    return ''; // no Intl
  }
}

/** The URL of `path` under /api/v1/, with the visitor's language and time zone. */
export function apiUrl(client, path) {
  if (client.timeZone === undefined) client.timeZone = visitorTimeZone();
  const query = [client.lang && 'lang=' + client.lang, client.timeZone && 'tz=' + encodeURIComponent(client.timeZone)]
    .filter(Boolean)
    .join('&');
  return client.base + '/api/v1/' + path + (query ? '?' + query : '');
}

/**
 * One API call: resolves to {status, body, headers}; body is always an object.
 * `timeoutMs`: give up (a network error) after that long, answer and body included.
 */
export async function callApi(client, method, path, body, timeoutMs) {
  const init = { method, credentials: 'omit' };
  if (body) {
    init.headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
    init.body = JSON.stringify(body);
  }
  let timer = 0;
  if (timeoutMs && window.AbortController) {
    const controller = new AbortController();
    init.signal = controller.signal;
    timer = setTimeout(() => controller.abort(), timeoutMs);
  }
  try {
    const response = await fetch(apiUrl(client, path), init);
    let parsed = null;
    try {
      parsed = await response.json();
    } catch (_) {
      /* not JSON */
    }
    return { status: response.status, body: parsed && typeof parsed === 'object' ? parsed : {}, headers: response.headers };
  } finally {
    clearTimeout(timer);
  }
}

export const widgetPath = (key, what) => 'widgets/' + encodeURIComponent(key) + '/' + what;
export const requestPath = (handle, what) => 'requests/' + encodeURIComponent(handle) + (what ? '/' + what : '');
