// The look document: how the widget is drawn. Public and cacheable, so a page view costs the
// server no database work; the fresh part (session.js) waits until the visitor opens the widget.
const LOOK_TIMEOUT_MS = 8000; // a hung API must not keep the widget "loading" for ever

/** Where and how the API is asked: its origin and the visitor's language (api.js adds the time zone). */
export const createClient = (base, lang) => ({ base, lang });

export async function fetchLook(client, key) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LOOK_TIMEOUT_MS);
  let status = 0;
  let look = null;
  try {
    // No time zone: the look is the same everywhere (and Intl's first call is a long task).
    const query = client.lang ? '?lang=' + client.lang : '';
    const response = await fetch(`${client.base}/api/v1/widgets/${encodeURIComponent(key)}/look${query}`, {
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
