// Small DOM helpers shared by the loader and the panel.

/** One console line, never an exception into the host page. */
export const warn = (error) => console.warn('[callback-widget] ' + (error?.message || error));

/** Wraps every entry point (start, handlers, timers): whatever fails is logged, never thrown. */
export const safe = (fn) => (...args) => {
  try {
    const result = fn(...args);
    result?.catch?.(warn);
    return result;
  } catch (error) {
    warn(error);
  }
};

/** Listens through safe(); a missing target is skipped. */
export function listen(target, type, handler, capture) {
  if (target) target.addEventListener(type, safe(handler), capture);
}

// Attributes via setAttribute, text via textContent: nothing is ever parsed as HTML.
export function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const name in attributes) {
    const value = attributes[name];
    if (value == null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name === 'cls' ? 'class' : name, value === true ? '' : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

export function icon(pathData) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  const path = document.createElementNS(NS, 'path');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  path.setAttribute('d', pathData);
  svg.append(path);
  return svg;
}

// Constructable stylesheets are CSSOM: a strict style-src does not block them.
export function addStyles(root, css) {
  try {
    if ('adoptedStyleSheets' in root) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
      return;
    }
  } catch (_) {
    /* fall back to a <style> element */
  }
  root.append(element('style', { text: css })); // old browsers only
}
