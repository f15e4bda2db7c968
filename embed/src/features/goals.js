// Contract 6: goals in the site's own analytics, called only when the page has them
// (we never load an analytics script), and a window CustomEvent for owners' own code.
// Names: callback_opened | callback_submitted | callback_connected | callback_missed.
export function goal(name, detail, analytics, w = window) {
  const a = analytics || {}, params = {};
  for (const k of ['widget', 'department', 'status']) if (detail[k]) params[k] = detail[k];
  try {
    if (a.metrica_id && typeof w.ym === 'function') w.ym(a.metrica_id, 'reachGoal', name, params);
    // gtag itself feeds dataLayer: a page with gtag gets one event, a GTM page its push.
    if (a.ga4 && typeof w.gtag === 'function') w.gtag('event', name, params);
    else if (a.ga4 && w.dataLayer && w.dataLayer.push) w.dataLayer.push({ event: name, ...params });
  } catch (e) { /* the site's analytics failing is not the visitor's problem */ }
  // The handle stays out of analytics; the page's own listener may use it (status polls).
  w.dispatchEvent(new CustomEvent('callback-widget:' + name.slice(9), { detail }));
}
