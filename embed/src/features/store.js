// Storage of the site's origin, never a cookie of ours: st(area, key) reads, st(area, key,
// value) writes. Private modes and strict settings throw: then nothing is kept (null).
export const st = (area, key, value) => {
  try { return value === undefined ? window[area].getItem(key) : window[area].setItem(key, value); } catch (e) { return null; }
};
