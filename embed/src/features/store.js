// Storage of the site's origin (never a cookie of ours). Private modes and strict
// settings throw on access: every read and write is then a quiet no-op.
export const get = (area, key) => { try { return window[area].getItem(key); } catch (e) { return null; } };
export const set = (area, key, value) => { try { window[area].setItem(key, value); } catch (e) { /* blocked */ } };
