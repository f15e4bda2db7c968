// The A/B split (contract 2's "variants"): a random number kept in localStorage makes
// a visitor see the same variant on every visit; weights are percentages (0-100).
// Without storage (blocked), no variant: the default texts, counted in neither.
import { get, set } from './store.js';

const KEY = 'cbw-ab';

export function variant(variants) {
  if (!variants || !variants.length) return null;
  let draw = parseFloat(get('localStorage', KEY));
  if (!(draw >= 0 && draw < 1)) {
    set('localStorage', KEY, String(Math.random()));
    draw = parseFloat(get('localStorage', KEY));
    if (!(draw >= 0 && draw < 1)) return null;
  }
  const total = variants.reduce((sum, v) => sum + Math.max(0, v.weight || 0), 0);
  let mark = draw * total;
  for (const v of variants) if ((mark -= Math.max(0, v.weight || 0)) < 0) return v;
  return null;
}

// The look with a variant's texts (title, intro, button) and trigger set applied.
export function withVariant(look, v) {
  if (!v) return look;
  return { ...look, texts: { ...look.texts, ...v.texts }, triggers: v.triggers || look.triggers };
}
