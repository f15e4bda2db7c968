// Where the visitor came from: the first touch of their browser session (contract 3's
// "source"), kept in sessionStorage so a request made pages later still names it.
// touch() runs in the loader on every page load (a few bytes: the landing page is the
// first page seen); source() reads it in the panel when the visitor sends a request.
import { st } from './store.js';

const KEY = 'cbw-touch';

// A page reached from the shop itself is not where the session began: nothing to keep, and
// no first read of sessionStorage (slow) on most page views.
export const touch = (loc = location, referrer = document.referrer) =>
  referrer.startsWith(loc.origin + '/') || st('sessionStorage', KEY) || st('sessionStorage', KEY, JSON.stringify([loc.href.split('#')[0], referrer]));

export function source(loc = location) {
  let landing, referrer;
  try { [landing, referrer] = JSON.parse(st('sessionStorage', KEY)); } catch (e) { /* blocked or damaged */ }
  landing = landing || loc.href.split('#')[0];
  const url = new URL(landing), found = {};
  for (const tag of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'yclid', 'gclid']) if (url.searchParams.get(tag)) found[tag] = url.searchParams.get(tag);
  // Only another site's address, without its query (a search there may hold personal
  // words); a move inside the shop says nothing of the source.
  if (referrer && !referrer.startsWith(url.origin + '/')) found.referrer = referrer.split(/[?#]/)[0];
  found.landing_page = landing;
  return found;
}
