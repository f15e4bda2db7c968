// Where the visitor came from: the first touch of their browser session (contract 3's
// "source"), kept in sessionStorage so a request made pages later still names it.
// Run on every page load, before intent: the landing page is the first page seen.
import { get, set } from './store.js';

const KEY = 'cbw-source';
const TAGS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'yclid', 'gclid'];

export function source(loc = location, referrer = document.referrer) {
  const kept = get('sessionStorage', KEY);
  if (kept) try { return JSON.parse(kept); } catch (e) { /* damaged: take this page */ }
  const query = new URLSearchParams(loc.search), found = {};
  for (const tag of TAGS) if (query.get(tag)) found[tag] = query.get(tag);
  // Only another site's address, without its query (a search there may hold personal
  // words); a move inside the shop says nothing of the source.
  if (referrer && !referrer.startsWith(loc.origin + '/')) found.referrer = referrer.split(/[?#]/)[0];
  found.landing_page = loc.href.split('#')[0];
  set('sessionStorage', KEY, JSON.stringify(found));
  return found;
}
