// The floating button: the only thing drawn on page load.
import BUTTON_CSS from './button.css';
import { addStyles, element, icon } from './dom.js';

const PHONE_ICON =
  'M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.2q1.7.6 3.6.6a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1q0 1.9.6 3.6a1 1 0 0 1-.3 1z';

/** Appends <callback-widget> to <body>: an open shadow root holding the button (its text: the A/B variant's, if it has one). */
export function drawButton(look, variantText) {
  const host = document.createElement('callback-widget');
  if (/^(ru|en)$/.test(look.language)) host.setAttribute('lang', look.language);
  host.setAttribute('data-status', 'idle');
  // The server checked the colour and chose the text on it (on_color): dark on light.
  if (look.on_color) {
    const set = (name, value) => host.style.setProperty('--cbw-' + name, value);
    set('color', look.color);
    set('on', look.on_color);
    if (look.on_color !== '#fff') set('ring', '#1f2328');
  }
  const root = host.attachShadow({ mode: 'open' });
  addStyles(root, BUTTON_CSS);
  const button = element(
    'button',
    { cls: 'cbw-fab', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false' },
    icon(PHONE_ICON),
    element('span', { text: variantText || look.texts.button }),
  );
  const frame = element('div', { cls: look.position === 'left' ? 'cbw-left' : null }, button);
  root.append(frame);
  document.body.append(host);
  return { host, root, button, frame };
}
