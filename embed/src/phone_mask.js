// Phone mask "+7 (916) 123-45-67"; a leading 7 or 8 is the country prefix.
import { listen } from './dom.js';

export const digits = (value) => value.replace(/\D/g, '');
// "доб. 5", "ext 12", "#5": we never dial an extension, and the visitor is told so. The
// mask leaves alone what holds other than digits and separators, so the words stay seen.
export const EXTENSION = /доб|ext|[x#]/i;
const WORDS = /[^\d\s()+.-]/;

/** The digits after +7, or null for a foreign number ("+44 …"). */
export function nationalNumber(value) {
  if (/^\s*\+\s*[0-689]/.test(value)) return null;
  const all = digits(value);
  return /^[78]/.test(all) ? all.slice(1) : all;
}

export function formatNational(national) {
  let text = '+7 (' + national.slice(0, 3);
  if (national.length > 3) text += ') ' + national.slice(3, 6);
  if (national.length > 6) text += '-' + national.slice(6, 8);
  if (national.length > 8) text += '-' + national.slice(8, 10);
  return text + national.slice(10); // extra digits stay, validation flags them
}

/** Masks `input` as the visitor types or pastes; `onEdit` runs on every change. */
export function attachPhoneMask(input, onEdit) {
  let previous = '';
  const reformat = (event) => {
    let value = input.value;
    let caret = input.selectionStart == null ? value.length : input.selectionStart;
    onEdit();
    // Backspace over a separator ("+7 (916)|") also takes the digit before it.
    if (event.inputType === 'deleteContentBackward' && digits(value) === digits(previous)) {
      let i = caret;
      while (i > 0 && !/\d/.test(value[i - 1])) i--;
      if (i > 0) {
        value = value.slice(0, i - 1) + value.slice(i);
        caret = i - 1;
      }
    }
    const national = nationalNumber(value);
    const all = digits(value);
    if (national === null || WORDS.test(value)) {
      previous = input.value = value;
      return;
    }
    const masked = all ? formatNational(national) : /^\s*\+/.test(value) ? '+' : '';
    // The caret goes back after the same digit (counting a 7 the mask added).
    let left = digits(value.slice(0, caret)).length + (/^[78]/.test(all) ? 0 : 1);
    let position = 0;
    while (position < masked.length && left > 0) if (/\d/.test(masked[position++])) left--;
    const atEnd = caret >= value.length;
    previous = input.value = masked;
    if (!atEnd) input.setSelectionRange(position, position);
  };
  listen(input, 'input', reformat);
  listen(input, 'paste', (event) => {
    const pasted = (event.clipboardData && event.clipboardData.getData('text')) || '';
    if (digits(pasted).length < 10) return;
    event.preventDefault(); // a whole number replaces the field
    input.value = pasted.trim();
    reformat({});
  });
}
