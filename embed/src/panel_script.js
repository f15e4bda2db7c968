// Loads the rest of the widget (form, status, proof of work) once, from its immutable URL.
// __PANEL_FILE__ and __PANEL_INTEGRITY__ are filled in by build.mjs: the panel's versioned,
// content-hashed name and its SRI hash, so a pinned loader (itself under SRI) only ever runs
// the panel it was built with.
/* global __PANEL_FILE__, __PANEL_INTEGRITY__ */

/** Resolves to the panel's createPanel; `base` is the server the loader came from. */
export const loadPanel = (base, shared) =>
  new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = base + '/embed/' + __PANEL_FILE__;
    script.crossOrigin = 'anonymous';
    script.integrity = __PANEL_INTEGRITY__;
    // Handed over through the script element itself: no second global. The panel takes the
    // loader's helpers (shared.js) and gives back its createPanel.
    script.callbackWidgetPanel = { shared, resolve };
    script.onerror = () => {
      script.remove();
      reject(new Error('the widget panel did not load'));
    };
    document.head.append(script);
  });
