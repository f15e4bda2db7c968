// The honest countdown (issue 17, item 8): "Позвоним в течение 30 с" counts down; at zero
// it does not vanish while the visitor still waits, it counts the wait up ("Ждём уже 0:45")
// and the status message says what is happening (the server's stage: next operator…).
const fill = (s, k, v) => String(s || '').replace('{' + k + '}', v);
const clock = (s) => Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');

export function countdownText(texts, promised, startedAt, now = Date.now()) {
  const gone = Math.max(0, Math.floor((now - startedAt) / 1e3));
  return gone < promised ? fill(texts.countdown, 'seconds', promised - gone) : fill(texts.waited, 'time', clock(gone));
}

// "через 9 мин", not "через 551 с": a wait under a minute in seconds, else whole minutes up.
export const waitWords = (lang, s) => s < 60 ? s + (lang === 'en' ? ' s' : ' с') : Math.ceil(s / 60) + (lang === 'en' ? ' min' : ' мин');
