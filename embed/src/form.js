// The request form: phone, department, slot, name, consent; validation and submit.
import { callApi, widgetPath } from './api.js';
import { element, listen } from './dom.js';
import { fetchSession } from './session.js';
import { EXTENSION, attachPhoneMask, formatNational, nationalNumber } from './phone_mask.js';
import { waitWords } from './features/countdown.js';
import { source } from './features/source.js';
import { solveChallenge } from './proof_of_work.js';

const TOKEN_FRESH_MS = 540000; // the form token lasts 10 minutes and is used once
const FIELD_NAMES = ['phone', 'group', 'slot', 'name', 'consent'];
const fillSeconds = (text, seconds) => String(text || '').replace(/\{seconds\}/g, seconds);

export function createForm(panel, { onAccepted }) {
  const { texts, widget, session } = panel;
  const look = widget.look;
  const groups = Array.isArray(look.groups) ? look.groups : [];
  const slots = session.open === false && Array.isArray(session.slots) ? session.slots : [];
  const policy = /^https?:\/\//i.test(look.privacy_policy_url || '') ? look.privacy_policy_url : null;
  const errorLine = (id) => element('p', { cls: 'cbw-e', id: 'cbw-' + id + '-e' });
  const field = (id, label, input) =>
    element('div', { cls: 'cbw-f' }, element('label', { cls: 'cbw-l', for: 'cbw-' + id, text: label }), input, errorLine(id));
  const select = (id, options, required) =>
    element('select', { cls: 'cbw-i', id: 'cbw-' + id, name: id, required }, ...options.map(([value, text]) => element('option', { value: String(value), text })));

  const inputs = {
    phone: element('input', { cls: 'cbw-i', id: 'cbw-phone', name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', placeholder: texts.phone_placeholder }),
    group: groups.length > 1 ? select('group', groups.map((g) => [g.id, g.label])) : null,
    slot: slots.length ? select('slot', slots.map((s) => [s.at, s.label]), true) : null,
    name: look.ask_name ? element('input', { cls: 'cbw-i', id: 'cbw-name', name: 'name', autocomplete: 'name', maxlength: '100' }) : null,
    consent: element('input', { cls: 'cbw-cb', id: 'cbw-consent', type: 'checkbox' }),
  };
  const botTrap = element('input', { cls: 'cbw-hp', name: 'website', tabindex: '-1', autocomplete: 'off', 'aria-hidden': 'true' }); // bots fill it
  // A disabled send button says why (the consent is not ticked).
  const hint = element('p', { cls: 'cbw-hint', id: 'cbw-submit-hint', text: texts.submit_hint });
  const submitButton = element('button', { cls: 'cbw-btn', type: 'submit', disabled: true, text: texts.submit, 'aria-describedby': 'cbw-submit-hint' });
  const consentBlock = element(
    'div',
    { cls: 'cbw-f' },
    element('div', { cls: 'cbw-c' }, inputs.consent, element('div', null,
      element('label', { for: 'cbw-consent', text: texts.consent }),
      policy && ' ',
      policy && element('a', { href: policy, target: '_blank', rel: 'noopener', text: texts.policy_link }))),
    errorLine('consent'),
  );
  const form = element(
    'form',
    { cls: 'cbw-form', novalidate: true },
    field('phone', texts.phone_label, inputs.phone),
    botTrap,
    inputs.group && field('group', texts.group_label, inputs.group),
    inputs.slot && field('slot', texts.slot_label, inputs.slot),
    inputs.name && field('name', texts.name_label, inputs.name),
    consentBlock,
    submitButton,
    hint,
  );
  const errors = {};
  for (const name of FIELD_NAMES) errors[name] = form.querySelector('#cbw-' + name + '-e');
  const state = { busy: false };

  const setError = (name, text) => {
    const input = inputs[name];
    if (!input) return false;
    errors[name].textContent = text || '';
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', errors[name].id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
    return true;
  };
  attachPhoneMask(inputs.phone, () => setError('phone', ''));
  const consentGiven = () => {
    hint.hidden = inputs.consent.checked || !texts.submit_hint;
    return inputs.consent.checked;
  };
  consentGiven();
  listen(inputs.consent, 'change', () => {
    submitButton.disabled = !consentGiven() || state.busy;
    setError('consent', '');
  });
  for (const name of ['name', 'group', 'slot']) listen(inputs[name], name === 'name' ? 'input' : 'change', () => setError(name, ''));

  const body = () => readForm({ inputs, groups, botTrap, widget });
  const controls = { inputs, setError, submitButton, panel, texts, onAccepted, state, body, consentGiven };
  listen(form, 'submit', (event) => {
    event.preventDefault();
    return submit(controls);
  });
  return {
    element: form,
    hasSlots: slots.length > 0,
    focusTarget: () => inputs.phone,
    submit: () => (form.requestSubmit ? form.requestSubmit() : submit(controls)),
    /** Back to an empty consent: it is given per request. */
    reset() {
      inputs.consent.checked = false;
      submitButton.disabled = !consentGiven();
    },
  };
}

function readForm({ inputs, groups, botTrap, widget }) {
  const request = { phone: formatNational(nationalNumber(inputs.phone.value)), consent: true, page_url: location.href };
  if (inputs.group) request.group = inputs.group.value;
  if (inputs.slot) request.slot = inputs.slot.value;
  else if (groups.length === 1) request.group = String(groups[0].id);
  const name = inputs.name && inputs.name.value.trim();
  if (name) request.name = name;
  request.website = botTrap.value;
  // Contract 3: the session's first touch and the A/B variant seen.
  request.source = source();
  request.variant = widget.variant || null;
  return request;
}

/** Checks the fields here first: a clear message without a round trip. */
function invalidField({ inputs, setError, texts }) {
  for (const name of FIELD_NAMES) setError(name, '');
  const national = nationalNumber(inputs.phone.value);
  const phoneError = !inputs.phone.value.trim()
    ? texts.error_phone_required
    : EXTENSION.test(inputs.phone.value)
      ? texts.error_phone_extension || texts.error_phone_invalid
      : !national || national.length !== 10
      ? texts.error_phone_invalid
      : '';
  setError('phone', phoneError);
  if (!inputs.consent.checked) setError('consent', texts.error_consent);
  if (phoneError) return inputs.phone;
  return inputs.consent.checked ? null : inputs.consent;
}

async function submit(controls) {
  const { panel, texts, submitButton, state, inputs } = controls;
  if (state.busy) return;
  panel.say('');
  const invalid = invalidField(controls);
  if (invalid) return invalid.focus();
  const request = controls.body();
  state.busy = submitButton.disabled = true;
  submitButton.textContent = texts.sending;
  submitButton.form.setAttribute('aria-busy', 'true');
  try {
    await send(controls, request);
  } catch (_) {
    panel.say(texts.error_network);
  } finally {
    state.busy = false;
    submitButton.textContent = texts.submit;
    submitButton.disabled = !controls.consentGiven();
    submitButton.form.removeAttribute('aria-busy');
  }
}

async function send(controls, request) {
  const { panel, texts, setError, inputs, onAccepted } = controls;
  const { client, key } = panel.widget;
  const stale = !panel.session.form_token || Date.now() - (panel.sessionAt || 0) > TOKEN_FRESH_MS;
  if (stale && !panel.widget.preview) await fetchSession(panel); // the preview sends nothing anywhere
  // A submit that quick after the token is asked for a proof of work, and its 428 prints red in
  // the host page's console: a quick visitor's submit waits out the rest instead.
  const early = panel.sessionAt + (+panel.widget.look.token_wait_ms || 0) - Date.now();
  if (early > 0) await new Promise((done) => setTimeout(done, early + 200)); // + the servers' clocks
  request.token = panel.session.form_token;
  const path = widgetPath(key, 'requests');
  let answer = await callApi(client, 'POST', path, request);
  if (answer.status === 428 && answer.body.challenge) {
    request.pow = await solveChallenge(answer.body.challenge);
    answer = await callApi(client, 'POST', path, request);
  }
  if (answer.status !== 422 && answer.status !== 429) panel.sessionAt = 0; // the token is spent
  const { status, body } = answer;
  if (status === 202 && body.handle) {
    const chosen = (panel.widget.look.groups || []).find((g) => String(g.id) === String(request.group));
    return onAccepted(body, chosen && chosen.label);
  }
  if (status === 422 && body.fields && typeof body.fields === 'object') {
    const shown = FIELD_NAMES.filter((name) => body.fields[name] && setError(name, String(body.fields[name])));
    if (shown.length) inputs[shown[0]].focus();
    else panel.say(body.message || texts.error_network);
  } else if (status === 429) {
    const seconds = retryAfterSeconds(answer);
    const wait = seconds >= 0 && fillSeconds(texts.error_rate_limited, seconds).replace('{wait}', waitWords(panel.widget.look.language, seconds));
    panel.say(wait || body.message || texts.error_network);
  } else panel.say(status < 500 && body.message ? body.message : texts.error_network);
}

function retryAfterSeconds({ headers, body }) {
  const header = headers.get('Retry-After') || '';
  let seconds = /^\d+$/.test(header) ? +header : header ? Math.ceil((Date.parse(header) - Date.now()) / 1000) : NaN;
  if (!(seconds >= 0)) seconds = parseInt(body.retry_after, 10);
  return seconds;
}
