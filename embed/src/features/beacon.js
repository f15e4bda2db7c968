// Contract 4: the funnel's beacon ("impression" when the button is drawn, "open" when
// the panel opens). text/plain needs no CORS preflight; nothing waits for it.
export function beacon(base, key, event, variant, loc = location, nav = navigator) {
  const body = JSON.stringify({ event, variant: variant || null, path: loc.pathname });
  try { nav.sendBeacon(base + '/api/v1/widgets/' + encodeURIComponent(key) + '/beacon', body); } catch (e) { /* old browser */ }
}
