// In the panel's build, dom.js, features/store.js and features/beacon.js resolve to this file
// (build.mjs): the panel uses the loader's copies, handed over on its script element
// (panel_script.js), instead of bundling them a second time.
export const { addStyles, element, icon, listen, safe, warn, beacon, st } = document.currentScript.callbackWidgetPanel.shared;
