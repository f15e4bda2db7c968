// The visitor's language: the script tag's data-lang, else, when the owner allows
// several, the browser's first preferred one among them, else the widget's.
export function language(tagLang, allowed, fallback, prefs = navigator.languages || [navigator.language]) {
  if (tagLang) return tagLang;
  if (allowed && allowed.length > 1) {
    for (const p of prefs) { const l = String(p || '').slice(0, 2).toLowerCase(); if (allowed.includes(l)) return l; }
  }
  return fallback;
}
