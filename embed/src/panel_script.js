// Loads the rest of the widget (form, status, proof of work) once, from its immutable URL.
// __PANEL_FILE__ and __PANEL_INTEGRITY__ are filled in by build.mjs: the panel's content hash
// and its SRI hash, so a pinned loader (itself under SRI) only ever runs the panel it was built with.
/* global __PANEL_FILE__, __PANEL_INTEGRITY__ */

let loading = null;

/** Resolves to the panel module's `createPanel`; `base` is the server's address the loader came from. */
export function loadPanel(base) {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = base + '/embed/' + __PANEL_FILE__;
      script.async = true;
      script.crossOrigin = 'anonymous';
      script.integrity = __PANEL_INTEGRITY__;
      // The panel hands itself over through its own script element: no second global.
      script.callbackWidgetPanel = resolve;
      script.onerror = () => {
        loading = null; // a later intent tries again
        script.remove();
        reject(new Error('the widget panel did not load'));
      };
      document.head.append(script);
    });
  }
  return loading;
}
