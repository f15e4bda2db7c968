// The look document: how the widget is drawn. Public and cacheable, so a page view costs the
// server no database work; the fresh part (session.js) waits until the visitor opens the widget.
const LOOK_TIMEOUT_MS = 8000; // a hung API must not keep the widget "loading" for ever

/** `client` is where and how the API is asked: {base, lang} (api.js adds the time zone). */
export async function fetchLook(client, key) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LOOK_TIMEOUT_MS);
  let status = 0;
  let look;
  try {
    // No time zone: the look is the same everywhere (and Intl's first call is a long task).
    const response = await fetch(`${client.base}/api/v1/widgets/${encodeURIComponent(key)}/look${client.lang ? '?lang=' + client.lang : ''}`, {
      credentials: 'omit',
      signal: controller.signal,
    });
    status = response.status;
    look = await response.json();
  } catch (_) {
    /* network, timeout, not JSON */
  }
  clearTimeout(timer);
  if (status !== 200 || !look?.texts) throw new Error(`config not loaded (${status ? 'HTTP ' + status : 'network error'}), the widget stays hidden`);
  return look;
}
