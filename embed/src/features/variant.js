// The A/B split (contract 2's "variants"): a random number kept in localStorage makes
// a visitor see the same variant on every visit; weights are percentages adding up to
// 100. Without storage (blocked), no variant: the default texts, counted in neither.
import { st } from './store.js';

export function variant(variants) {
  let draw = variants && (st('localStorage', 'cbw-ab') || (st('localStorage', 'cbw-ab', Math.random()), st('localStorage', 'cbw-ab')));
  return (draw && variants.find((v) => (draw -= v.weight / 100) < 0)) || null;
}

// The look with a variant's texts (title, intro, button) and trigger set applied.
export const withVariant = (look, v) => v ? { ...look, texts: { ...look.texts, ...v.texts }, triggers: v.triggers || look.triggers } : look;
