// The fresh part of the widget, fetched when the visitor opens it: form token, open or closed, slots.
import { callApi, widgetPath } from './api.js';

const SESSION_TIMEOUT_MS = 8000;

/** Fetches the fresh part (form token, open, slots); returns the message to show if that failed. */
export async function fetchSession(panel) {
  const { client, key } = panel.widget;
  let answer = { status: 0, body: {} };
  try {
    answer = await callApi(client, 'GET', widgetPath(key, 'session'), null, SESSION_TIMEOUT_MS);
  } catch (_) {
    /* network, timeout */
  }
  if (answer.status === 200 && answer.body.form_token) {
    panel.session = answer.body;
    panel.sessionAt = Date.now();
    return '';
  }
  if (!panel.session) panel.session = { open: true, slots: [] };
  return answer.status && answer.status < 500 && answer.body.message ? answer.body.message : panel.texts.error_network;
}

