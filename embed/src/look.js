// The look document: how the widget is drawn. Public and cacheable, so a page view costs the
// server no database work; the fresh part (session.js) waits until the visitor opens the widget.
const LOOK_TIMEOUT_MS = 8000; // a hung API must not keep the widget "loading" for ever

function visitorTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch (_) {
    return ''; // no Intl
  }
}

/** Where and how the API is asked: its origin, and the visitor's language and time zone. */
export const createClient = (base, lang) => ({ base, lang, timeZone: visitorTimeZone() });

export async function fetchLook(client, key) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LOOK_TIMEOUT_MS);
  let status = 0;
  let look = null;
  try {
    const query = (client.lang ? 'lang=' + client.lang + '&' : '') + 'tz=' + encodeURIComponent(client.timeZone);
    const response = await fetch(`${client.base}/api/v1/widgets/${encodeURIComponent(key)}/look?${query}`, {
      credentials: 'omit',
      signal: controller.signal,
    });
    status = response.status;
    look = await response.json();
  } catch (_) {
    /* network, timeout, not JSON */
  } finally {
    clearTimeout(timer);
  }
  if (status !== 200 || !look || !look.texts) {
    throw new Error(`config not loaded (${status ? 'HTTP ' + status : 'network error'}), the widget stays hidden`);
  }
  return look;
}
