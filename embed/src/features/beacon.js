// Contract 4: the funnel's beacon ("impression" when the button is drawn, "open" when
// the panel opens). text/plain needs no CORS preflight; nothing waits for it.
export const beacon = (base, key, event, variant) => {
  try { navigator.sendBeacon(base + '/api/v1/widgets/' + encodeURIComponent(key) + '/beacon', JSON.stringify({ event, variant: variant || null, path: location.pathname })); } catch (e) { /* old browser */ }
};
