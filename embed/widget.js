/*! Call-back widget. One tag: <script async src="https://HOST/embed.js" data-widget="KEY"></script>
 * Plain ES2017, no dependencies, no build step. See embed/README.md and docs/widget-api-contract.md. */
(() => {
  'use strict';
  const W = window, D = document;
  const warn = (e) => { try { console.warn('[callback-widget] ' + ((e && e.message) || e)); } catch (_) { /* no console */ } };
  // Every entry point (start, handlers, timers) goes through safe(): never throw into the host page.
  const safe = (fn) => function (...a) {
    try {
      const r = fn.apply(this, a);
      if (r && r.catch) r.catch(warn);
      return r;
    } catch (e) { warn(e); }
  };

  // Read now: currentScript is only set while this file first runs.
  const script = D.currentScript || D.querySelector('script[data-widget]');
  const prev = W.CallbackWidget;
  if (prev && typeof prev.open === 'function') return;

  const CSS = `
:host{all:initial;font-family:var(--cbw-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);font-size:15px;line-height:1.45;color:#1f2328}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,input,select{font:inherit;color:inherit;margin:0}
:focus-visible{outline:3px solid var(--cbw-ring,var(--cbw-color,#0b6bcb));outline-offset:2px}
.cbw-fab{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:inline-flex;align-items:center;gap:8px;min-height:52px;max-width:calc(100vw - 40px);padding:0 22px 0 18px;border:0;border-radius:999px;background:var(--cbw-color,#0b6bcb);color:var(--cbw-on,#fff);font-size:16px;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.22),0 2px 6px rgba(0,0,0,.12);transition:transform .15s,box-shadow .15s}
.cbw-fab:hover{transform:translateY(-2px);box-shadow:0 10px 26px rgba(0,0,0,.26),0 3px 8px rgba(0,0,0,.14)}
.cbw-fab svg{width:20px;height:20px;flex:none;fill:currentColor}
.cbw-left .cbw-fab{right:auto;left:20px}
.cbw-bd{position:fixed;top:0;right:0;bottom:0;left:0;z-index:2147483001;background:rgba(17,24,39,.4);animation:cbw-fade .2s}
.cbw-dlg{position:fixed;bottom:88px;right:20px;z-index:2147483002;width:380px;max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);overflow:auto;padding:24px;background:#fff;border-radius:16px;box-shadow:0 24px 60px rgba(0,0,0,.28);animation:cbw-in .2s ease-out}
.cbw-left .cbw-dlg{right:auto;left:20px}
.cbw-head{display:flex;align-items:flex-start;justify-content:space-between;gap:12px}
.cbw-title{margin:0;font-size:20px;line-height:1.3;font-weight:700}
.cbw-x{flex:none;display:grid;place-items:center;width:36px;height:36px;margin:-6px -8px 0 0;padding:0;border:0;border-radius:50%;background:none;color:#57606a;cursor:pointer}
.cbw-x:hover{background:#f0f2f4;color:#1f2328}
.cbw-x svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round}
.cbw-intro{margin:6px 0 20px;color:#57606a;font-size:14px}
.cbw-a{margin:0 0 16px;padding:10px 12px;border-radius:10px;background:#fdecea;color:#8c1d18;font-size:14px}
.cbw-a:empty{display:none}
.cbw-f{margin:0 0 16px}
.cbw-l{display:block;margin:0 0 6px;font-size:14px;font-weight:600}
.cbw-i{display:block;width:100%;height:48px;padding:0 14px;border:1px solid #c4cad1;border-radius:10px;background:#fff;font-size:16px}
.cbw-i:hover{border-color:#8c959f}
.cbw-i:focus{border-color:var(--cbw-ring,var(--cbw-color,#0b6bcb))}
.cbw-i:focus-visible{outline-offset:1px}
.cbw-i::placeholder{color:#8c959f}
[aria-invalid=true]{border-color:#c62828;outline-color:#c62828}
.cbw-hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.cbw-e{margin:6px 0 0;color:#b3261e;font-size:14px}
.cbw-e:empty{display:none}
.cbw-c{display:flex;gap:10px;align-items:flex-start;font-size:13px;color:#424a53}
.cbw-cb{flex:none;width:20px;height:20px;margin:1px 0 0;accent-color:var(--cbw-color,#0b6bcb);cursor:pointer}
.cbw-c label{cursor:pointer}
.cbw-c a{color:inherit;text-underline-offset:2px}
.cbw-btn{display:flex;align-items:center;justify-content:center;width:100%;min-height:50px;margin:8px 0 0;padding:0 16px;border:1px solid transparent;border-radius:10px;background:var(--cbw-color,#0b6bcb);color:var(--cbw-on,#fff);font-size:16px;font-weight:600;cursor:pointer;transition:filter .15s}
.cbw-btn:hover:not(:disabled){filter:brightness(1.08)}
.cbw-btn:disabled{opacity:.45;cursor:not-allowed}
.cbw-sec{background:#fff;color:#1f2328;border-color:#c4cad1}
.cbw-st{padding:8px 0 0;text-align:center}
.cbw-st:focus{outline:none}
.cbw-st .cbw-btn{margin-top:20px}
.cbw-ind{position:relative;width:52px;height:52px;margin:4px auto 16px;border:4px solid #e5e8eb;border-top-color:var(--cbw-ring,var(--cbw-color,#0b6bcb));border-radius:50%;animation:cbw-spin 1s linear infinite}
.cbw-live,.cbw-ok{border-color:#1a7f37;animation:cbw-pulse 1.6s ease-in-out infinite}
.cbw-ok,.cbw-end{animation:none}
.cbw-end{border-color:#d0d7de}
.cbw-ok::after{content:"";position:absolute;left:14px;top:8px;width:10px;height:20px;border:solid #1a7f37;border-width:0 4px 4px 0;transform:rotate(45deg)}
.cbw-end::after{content:"";position:absolute;left:11px;top:20px;width:22px;height:4px;border-radius:2px;background:#8c959f}
.cbw-msg{margin:0;font-size:17px;font-weight:600}
.cbw-cd{margin:8px 0 0;color:#57606a;font-size:14px;font-variant-numeric:tabular-nums}
@keyframes cbw-in{from{opacity:0;transform:translateY(12px)}}
@keyframes cbw-up{from{transform:translateY(100%)}}
@keyframes cbw-fade{from{opacity:0}}
@keyframes cbw-spin{to{transform:rotate(360deg)}}
@keyframes cbw-pulse{50%{transform:scale(.9)}}
@media (max-width:479px){
.cbw-fab{bottom:16px;right:16px}
.cbw-left .cbw-fab{left:16px}
.cbw-dlg,.cbw-left .cbw-dlg{left:0;right:0;bottom:0;width:auto;max-width:none;max-height:92vh;padding:20px 16px calc(20px + env(safe-area-inset-bottom,0px));border-radius:18px 18px 0 0;animation-name:cbw-up}
}
@media (prefers-reduced-motion:reduce){*,::after{animation:none!important;transition:none!important}}
`;

  // ---- helpers
  // Attributes via setAttribute, text via textContent: nothing is ever parsed as HTML.
  const h = (tag, attrs, ...kids) => {
    const el = D.createElement(tag);
    for (const k in attrs) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else el.setAttribute(k === 'cls' ? 'class' : k, v === true ? '' : v);
    }
    el.append(...kids.filter((c) => c != null));
    return el;
  };
  const icon = (d) => {
    const NS = 'http://www.w3.org/2000/svg', s = D.createElementNS(NS, 'svg'), p = D.createElementNS(NS, 'path');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    p.setAttribute('d', d);
    s.append(p);
    return s;
  };
  const fill = (s, n) => String(s || '').replace(/\{seconds\}/g, n);
  const digits = (v) => v.replace(/\D/g, '');

  // Phone mask "+7 (916) 123-45-67"; a leading 7 or 8 is the country prefix.
  // national(): the digits after +7, or null for a foreign number ("+44 …").
  const national = (v) => {
    if (/^\s*\+\s*[0-689]/.test(v)) return null;
    const d = digits(v);
    return /^[78]/.test(d) ? d.slice(1) : d;
  };
  const format = (n) => {
    let s = '+7 (' + n.slice(0, 3);
    if (n.length > 3) s += ') ' + n.slice(3, 6);
    if (n.length > 6) s += '-' + n.slice(6, 8);
    if (n.length > 8) s += '-' + n.slice(8, 10);
    return s + n.slice(10); // extra digits stay, validation flags them
  };

  // A light accent colour gets dark text and a dark focus ring.
  const light = (c) => {
    let x = c.slice(1);
    if (x.length < 6) x = x.replace(/./g, '$&$&');
    const [r, g, b] = [0, 2, 4].map((i) => {
      const v = parseInt(x.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.3;
  };

  // ---- state
  let api, lang, key, cfg, T, ready = 0; // ready: 0 loading, 1 shown, -1 failed
  const CONFIG_TIMEOUT_MS = 8000; // a hung API must not keep the widget "loading" for ever
  let pending = null, opener = null, busy = false, cancelling = false;
  let host, root, fab, bd, dlg, intro, alertEl, form, phone, group, nameEl, consent, submitB, fields;
  let stView, ind, msg, count, cancelB, againB;
  let handle = null, st = null, gen = 0, end = 0, interval = 1000, fails = 0, inflight = false;
  let pollT = 0, clockT = 0, lastPhone = '', slotEl, tz = '', tok, tokAt = 0, trap;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (_) { /* no Intl */ }

  // CORS "simple" requests: no cookies, JSON as text/plain, so no preflight.
  // `ms`: give up (a network error) after that long, answer and body included.
  const call = async (method, path, body, ms) => {
    const init = { method, credentials: 'omit' };
    if (body) {
      init.headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
      init.body = JSON.stringify(body);
    }
    let timer = 0;
    if (ms && W.AbortController) {
      const ac = new AbortController();
      init.signal = ac.signal;
      timer = setTimeout(() => ac.abort(), ms);
    }
    const q = [lang && 'lang=' + lang, tz && 'tz=' + encodeURIComponent(tz)].filter(Boolean).join('&');
    try {
      const r = await fetch(api + '/api/v1/' + path + (q ? '?' + q : ''), init);
      let b = null;
      try { b = await r.json(); } catch (_) { /* not JSON */ }
      return { s: r.status, b: b && typeof b === 'object' ? b : {}, h: r.headers };
    } finally { clearTimeout(timer); }
  };

  // Proof of work: the first n with sha256(salt + n) starting with `bits` zero bits.
  const solve = async ({ salt, bits }) => {
    const E = new TextEncoder();
    for (let n = 0; ; n += 256) {
      const hs = await Promise.all(Array.from({ length: 256 }, (_, i) => crypto.subtle.digest('SHA-256', E.encode(salt + (n + i)))));
      const i = hs.findIndex((x) => !(new DataView(x).getUint32(0) >>> (32 - bits)));
      if (i >= 0) return { salt, number: n + i };
    }
  };

  // ---- open / close
  function open(from) {
    if (ready < 0) return;
    if (!ready) { pending = from || true; return; }
    if (!dlg.hidden) return;
    opener = from && from.focus ? from : D.activeElement === host ? fab : D.activeElement;
    bd.hidden = dlg.hidden = false;
    fab.setAttribute('aria-expanded', 'true');
    focusFirst();
  }

  function close() {
    if (ready < 1 || dlg.hidden) return;
    bd.hidden = dlg.hidden = true;
    fab.setAttribute('aria-expanded', 'false');
    const o = opener;
    opener = null;
    if (o && o !== D.body && o.isConnected && o.focus) o.focus();
  }

  const focusFirst = () => (form.hidden ? stView : phone).focus();

  // Esc, Tab trap, Enter submits. On document: works even if focus fell to <body>.
  function onKey(e) {
    if (ready < 1 || dlg.hidden) return;
    const a = root.activeElement;
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'Enter' && a && a.tagName === 'INPUT' && !form.hidden) {
      e.preventDefault(); // even with submit disabled: explain the consent
      if (form.requestSubmit) form.requestSubmit();
      else onSubmit(e);
    } else if (e.key === 'Tab') {
      const f = [...dlg.querySelectorAll('button,input,select,a[href]')].filter((el) => !el.disabled && el.getClientRects().length);
      if (!f.length) return;
      const first = f[0], last = f[f.length - 1];
      if (!a || (e.shiftKey ? a === first : a === last)) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }
  }

  // ---- building the UI
  function mount() {
    host = D.createElement('callback-widget');
    if (/^(ru|en)$/.test(cfg.language)) host.setAttribute('lang', cfg.language);
    host.setAttribute('data-status', 'idle');
    if (/^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(cfg.color || '')) {
      const lt = light(cfg.color);
      host.style.setProperty('--cbw-color', cfg.color);
      host.style.setProperty('--cbw-on', lt ? '#111' : '#fff');
      if (lt) host.style.setProperty('--cbw-ring', '#1f2328');
    }
    root = host.attachShadow({ mode: 'open' });
    // Constructable stylesheets are CSSOM: a strict style-src does not block them.
    let sheet = null;
    try {
      if ('adoptedStyleSheets' in root) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      }
    } catch (_) { sheet = null; }
    if (!sheet) root.append(h('style', { text: CSS })); // old browsers only

    const groups = Array.isArray(cfg.groups) ? cfg.groups : [];
    // Closed (out of hours, or night for the visitor): the visitor picks when to be called.
    const closed = cfg.open === false, slots = Array.isArray(cfg.slots) ? cfg.slots : [];
    const it = closed ? (slots.length ? T.closed_intro : T.no_slots) : T.intro;
    const policy = /^https?:\/\//i.test(cfg.privacy_policy_url || '') ? cfg.privacy_policy_url : null;
    const err = (id) => h('p', { cls: 'cbw-e', id: 'cbw-' + id + '-e' });
    const field = (id, label, input) => h('div', { cls: 'cbw-f' },
      h('label', { cls: 'cbw-l', for: 'cbw-' + id, text: label }), input, err(id));

    phone = h('input', { cls: 'cbw-i', id: 'cbw-phone', name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', placeholder: T.phone_placeholder });
    group = groups.length > 1 ? h('select', { cls: 'cbw-i', id: 'cbw-group', name: 'group' },
      ...groups.map((g) => h('option', { value: String(g.id), text: g.label }))) : null;
    slotEl = closed && slots.length ? h('select', { cls: 'cbw-i', id: 'cbw-slot', name: 'slot', required: true },
      ...slots.map((t) => h('option', { value: String(t.at), text: t.label }))) : null;
    nameEl = cfg.ask_name ? h('input', { cls: 'cbw-i', id: 'cbw-name', name: 'name', autocomplete: 'name', maxlength: '100' }) : null;
    consent = h('input', { cls: 'cbw-cb', id: 'cbw-consent', type: 'checkbox' });
    submitB = h('button', { cls: 'cbw-btn', type: 'submit', disabled: true, text: T.submit });
    form = h('form', { cls: 'cbw-form', novalidate: true },
      field('phone', T.phone_label, phone),
      trap = h('input', { cls: 'cbw-hp', name: 'website', tabindex: '-1', autocomplete: 'off', 'aria-hidden': 'true' }), // bots fill it
      group && field('group', T.group_label, group),
      slotEl && field('slot', T.slot_label, slotEl),
      nameEl && field('name', T.name_label, nameEl),
      h('div', { cls: 'cbw-f' },
        h('div', { cls: 'cbw-c' }, consent, h('div', null,
          h('label', { for: 'cbw-consent', text: T.consent }),
          policy && ' ',
          policy && h('a', { href: policy, target: '_blank', rel: 'noopener', text: T.policy_link }))),
        err('consent')),
      submitB);
    fields = { phone: [phone], group: [group], slot: [slotEl], name: [nameEl], consent: [consent] };
    for (const k in fields) fields[k].push(form.querySelector('#cbw-' + k + '-e'));

    stView = h('div', { cls: 'cbw-st', tabindex: '-1', hidden: true },
      ind = h('div', { cls: 'cbw-ind', 'aria-hidden': 'true' }),
      msg = h('p', { cls: 'cbw-msg', role: 'status', 'aria-live': 'polite' }),
      count = h('p', { cls: 'cbw-cd', hidden: true }),
      cancelB = h('button', { cls: 'cbw-btn cbw-sec', type: 'button', hidden: true, text: T.cancel }),
      againB = h('button', { cls: 'cbw-btn', type: 'button', hidden: true, text: T.again }));

    const x = h('button', { cls: 'cbw-x', type: 'button', 'aria-label': T.close }, icon('M6 6l12 12M18 6L6 18'));
    dlg = h('div', { cls: 'cbw-dlg', id: 'cbw-dlg', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'cbw-title', hidden: true },
      h('div', { cls: 'cbw-head' }, h('h2', { cls: 'cbw-title', id: 'cbw-title', text: closed ? T.closed_title : T.title }), x),
      intro = it ? h('p', { cls: 'cbw-intro', text: it }) : null,
      alertEl = h('div', { cls: 'cbw-a', role: 'alert' }),
      form, stView);
    fab = h('button', { cls: 'cbw-fab', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'aria-controls': 'cbw-dlg' },
      icon('M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z'),
      h('span', { text: T.button }));
    bd = h('div', { cls: 'cbw-bd', hidden: true });
    root.append(h('div', { cls: cfg.position === 'left' ? 'cbw-left' : 'cbw-right' }, fab, bd, dlg));

    const on = (el, type, fn) => el && el.addEventListener(type, safe(fn));
    on(fab, 'click', () => (dlg.hidden ? open(fab) : close()));
    on(bd, 'click', close);
    on(x, 'click', close);
    on(phone, 'input', onPhone);
    on(phone, 'paste', onPaste);
    on(consent, 'change', () => { submitB.disabled = busy || !consent.checked; setErr('consent', ''); });
    on(nameEl, 'input', () => setErr('name', ''));
    on(group, 'change', () => setErr('group', ''));
    on(slotEl, 'change', () => setErr('slot', ''));
    on(form, 'submit', onSubmit);
    on(cancelB, 'click', onCancel);
    on(againB, 'click', onAgain);
    on(D, 'visibilitychange', () => { if (!D.hidden && handle && !inflight) poll(); });
    // Modal: focus that wanders to the host page comes back.
    on(D, 'focusin', (e) => { if (!dlg.hidden && e.target !== host) focusFirst(); });
    D.addEventListener('keydown', safe(onKey), true);

    D.body.append(host);
    ready = 1;
    if (pending) open(pending === true ? null : pending);
    else if (cfg.preview_open) { bd.hidden = dlg.hidden = false; fab.setAttribute('aria-expanded', 'true'); } // shown, focus left alone
    restore().catch(() => {});
  }

  // ---- a request still open survives a reload: its handle waits in localStorage
  const SK = () => 'cbw:' + key;
  function keep(hd) {
    try { hd ? localStorage.setItem(SK(), hd) : localStorage.removeItem(SK()); } catch (_) { /* storage off */ }
  }
  async function restore() {
    let hd = null;
    try { hd = localStorage.getItem(SK()); } catch (_) { /* storage off */ }
    if (!hd || handle) return;
    let r;
    try { r = await call('GET', 'requests/' + encodeURIComponent(hd)); } catch (_) { return; } // offline: next time
    if (handle) return;
    if (r.s === 200 && r.b.status && !r.b.final) start({ handle: hd, status: r.b }, 1);
    else keep(null);
  }

  // ---- phone mask
  function onPhone(e) {
    let v = phone.value, c = phone.selectionStart == null ? v.length : phone.selectionStart;
    setErr('phone', '');
    // Backspace over a separator ("+7 (916)|") also takes the digit before it.
    if (e.inputType === 'deleteContentBackward' && digits(v) === digits(lastPhone)) {
      let i = c;
      while (i > 0 && !/\d/.test(v[i - 1])) i--;
      if (i > 0) { v = v.slice(0, i - 1) + v.slice(i); c = i - 1; }
    }
    const n = national(v), d = digits(v);
    if (n === null) { lastPhone = phone.value = v; return; }
    const out = d ? format(n) : /^\s*\+/.test(v) ? '+' : '';
    // Caret goes back after the same digit (counting a 7 the mask added).
    let k = digits(v.slice(0, c)).length + (/^[78]/.test(d) ? 0 : 1), p = 0;
    while (p < out.length && k > 0) if (/\d/.test(out[p++])) k--;
    const atEnd = c >= v.length;
    lastPhone = phone.value = out;
    if (!atEnd) phone.setSelectionRange(p, p);
  }

  function onPaste(e) {
    const t = (e.clipboardData && e.clipboardData.getData('text')) || '';
    if (digits(t).length < 10) return;
    e.preventDefault(); // a whole number replaces the field
    phone.value = t.trim();
    onPhone({});
  }

  // ---- form
  function setErr(name, text) {
    const [input, el] = fields[name] || [];
    if (!input) return false;
    el.textContent = text || '';
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', el.id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
    return true;
  }
  const say = (text) => { alertEl.textContent = text || ''; };

  async function onSubmit(e) {
    e.preventDefault();
    if (busy) return;
    say('');
    for (const k in fields) setErr(k, '');
    const n = national(phone.value);
    const bad = !phone.value.trim() ? T.error_phone_required : !n || n.length !== 10 ? T.error_phone_invalid : '';
    setErr('phone', bad);
    if (!consent.checked) setErr('consent', T.error_consent);
    if (bad || !consent.checked) return (bad ? phone : consent).focus();

    const groups = cfg.groups || [];
    const body = { phone: format(n), consent: true, page_url: location.href };
    if (group) body.group = group.value;
    if (slotEl) body.slot = slotEl.value;
    else if (groups.length === 1) body.group = String(groups[0].id);
    const nm = nameEl && nameEl.value.trim();
    if (nm) body.name = nm;

    busy = submitB.disabled = true;
    submitB.textContent = T.sending;
    form.setAttribute('aria-busy', 'true');
    try {
      const P = 'widgets/' + encodeURIComponent(key);
      if (Date.now() - tokAt > 54e4) { // the form token lasts 10 minutes and is used once
        const c = await call('GET', P + '/config');
        if (c.b.form_token) { tok = c.b.form_token; tokAt = Date.now(); }
      }
      body.token = tok;
      body.website = trap.value;
      let r = await call('POST', P + '/requests', body);
      if (r.s === 428 && r.b.challenge) {
        body.pow = await solve(r.b.challenge);
        r = await call('POST', P + '/requests', body);
      }
      if (r.s !== 422 && r.s !== 429) tokAt = 0;
      const f = r.b.fields;
      if (r.s === 202 && r.b.handle) return start(r.b);
      if (r.s === 422 && f && typeof f === 'object') {
        const shown = ['phone', 'group', 'slot', 'name', 'consent'].filter((k) => f[k] && setErr(k, String(f[k])));
        if (shown.length) fields[shown[0]][0].focus();
        else say(r.b.message || T.error_network);
      } else if (r.s === 429) {
        const ra = r.h.get('Retry-After') || '';
        let s = /^\d+$/.test(ra) ? +ra : ra ? Math.ceil((Date.parse(ra) - Date.now()) / 1000) : NaN;
        if (!(s >= 0)) s = parseInt(r.b.retry_after, 10);
        say(s >= 0 ? fill(T.error_rate_limited, s) : r.b.message || T.error_network);
      } else say(r.s < 500 && r.b.message ? r.b.message : T.error_network);
    } catch (_) {
      say(T.error_network);
    } finally {
      busy = false;
      submitB.textContent = T.submit;
      submitB.disabled = !consent.checked;
      form.removeAttribute('aria-busy');
    }
  }

  // ---- live status
  function view(status) {
    form.hidden = status;
    if (intro) intro.hidden = status;
    stView.hidden = !status;
    say('');
  }

  function start(res, quiet) {
    gen++;
    handle = res.handle;
    keep(handle);
    st = null;
    fails = 0;
    end = Date.now() + Math.max(0, +cfg.countdown_seconds || 0) * 1000;
    view(true);
    render(res.status && res.status.status ? res.status : { status: 'queued', cancellable: true });
    if (!quiet) stView.focus(); // the submit button is gone
    clearInterval(clockT);
    clockT = setInterval(safe(tick), 1000);
    if (!st.final) schedule();
  }

  function render(s) {
    if (st && st.final && !s.final) return; // stale poll
    st = s;
    const a = root.activeElement, ok = s.status === 'connected' || s.status === 'finished';
    host.setAttribute('data-status', String(s.status));
    msg.textContent = s.message || '';
    cancelB.hidden = !s.cancellable || !!s.final;
    againB.hidden = !s.final;
    ind.className = 'cbw-ind' + (s.status === 'finished' || s.status === 'scheduled' ? ' cbw-ok' : ok ? ' cbw-live' : s.final ? ' cbw-end' : '');
    tick();
    if (s.final) stop();
    if (a && a.hidden) stView.focus(); // the focused button just disappeared
  }

  function tick() {
    const left = Math.ceil((end - Date.now()) / 1000);
    const shown = !!st && !st.final && (st.status === 'queued' || st.status === 'calling_operator') && left > 0;
    count.hidden = !shown;
    if (shown) count.textContent = fill(T.countdown, left);
    else clearInterval(clockT);
  }

  function stop() {
    clearTimeout(pollT);
    clearInterval(clockT);
    handle = null;
    keep(null);
  }

  function schedule(delay) {
    clearTimeout(pollT);
    // A scheduled call may be hours away: look in now and then.
    pollT = setTimeout(safe(poll), delay || (st && st.status === 'scheduled' ? 15000 : D.hidden ? 5000 : interval));
  }

  async function poll() {
    const g = gen, hd = handle;
    if (!hd) return;
    clearTimeout(pollT);
    inflight = true;
    try {
      const r = await call('GET', 'requests/' + encodeURIComponent(hd));
      if (g !== gen) return;
      if (r.s === 200 && r.b.status) {
        fails = 0;
        render(r.b);
        if (r.b.final) return;
      } else if (r.s >= 400 && r.s < 500) return fail(r.b.message);
      else fails++;
    } catch (_) {
      if (g !== gen) return;
      fails++;
    } finally {
      inflight = false;
    }
    if (fails > 20) return fail();
    schedule(fails ? Math.min(interval * 2 ** fails, 10000) : 0); // back off
  }

  function fail(text) {
    render({ status: 'error', final: true, message: text || T.error_network });
  }

  async function onCancel() {
    const g = gen, hd = handle;
    if (!hd || cancelling) return;
    cancelling = true; // not .disabled: that drops focus
    try {
      const r = await call('POST', 'requests/' + encodeURIComponent(hd) + '/cancel', {});
      if (g !== gen) return;
      if (r.s === 200 && r.b.status) return render(r.b);
      if (r.s === 409) { // too late
        cancelB.hidden = true;
        stView.focus();
      }
      say(r.s < 500 && r.b.message ? r.b.message : T.error_network);
    } catch (_) {
      say(T.error_network);
    } finally {
      cancelling = false;
    }
  }

  function onAgain() {
    gen++;
    stop();
    st = null;
    view(false);
    consent.checked = false; // consent is given per request
    submitB.disabled = true;
    host.setAttribute('data-status', 'idle');
    phone.focus();
  }

  // ---- start
  safe(async () => {
    const run = safe((c) => {
      const [m, ...a] = Array.isArray(c) ? c : [c];
      if (m === 'open') open(...a);
      else if (m === 'close') close();
    });
    W.CallbackWidget = { open: safe(() => open()), close: safe(close), q: { push: run } };
    if (prev && Array.isArray(prev.q)) prev.q.forEach(run); // calls queued by a stub
    // The owner's own buttons. Until the widget is shown, or if it never is, a link keeps
    // its own action (a tel: link still calls); a button opens the widget once it is ready.
    D.addEventListener('click', safe((e) => {
      const t = e.target && e.target.closest && e.target.closest('[data-callback-widget]');
      if (!t || ready < 0 || (!ready && t.closest('a[href]'))) return;
      e.preventDefault();
      open(t);
    }));

    if (!script) throw new Error('script tag not found');
    key = script.getAttribute('data-widget');
    if (!key) throw new Error('data-widget attribute is missing');
    api = (script.getAttribute('data-api') || new URL(script.src, location.href).origin).replace(/\/+$/, '');
    lang = script.getAttribute('data-lang');
    if (!/^(ru|en)$/.test(lang || '')) lang = '';
    let r = { s: 0, b: {} };
    const pv = script.getAttribute('data-preview'); // the config page's preview: config given, nothing fetched
    if (pv) r = { s: 200, b: JSON.parse(pv) };
    else try { r = await call('GET', 'widgets/' + encodeURIComponent(key) + '/config', null, CONFIG_TIMEOUT_MS); } catch (_) { /* network, timeout */ }
    if (r.s !== 200 || !r.b.texts) throw new Error('config not loaded (' + (r.s ? 'HTTP ' + r.s : 'network error') + '), the widget stays hidden');
    cfg = r.b;
    T = cfg.texts;
    tok = cfg.form_token;
    tokAt = Date.now();
    interval = Math.max(250, +cfg.poll_interval_ms || 1000);
    if (D.body) mount();
    else D.addEventListener('DOMContentLoaded', safe(mount));
  })().catch(() => { ready = -1; });
})();
