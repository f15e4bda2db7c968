// A request still open survives a reload: its handle waits in localStorage.
const storageKey = (widgetKey) => 'cbw:' + widgetKey;

export function storedHandle(widgetKey) {
  try {
    return localStorage.getItem(storageKey(widgetKey));
  } catch (_) {
    return null; // storage off
  }
}

export function keepHandle(widgetKey, handle) {
  try {
    if (handle) localStorage.setItem(storageKey(widgetKey), handle);
    else localStorage.removeItem(storageKey(widgetKey));
  } catch (_) {
    /* storage off */
  }
}
