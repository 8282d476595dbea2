// Small DOM helpers. Every text goes in as a text node (never as HTML), so
// names and messages from the API or from people can never become markup.
import { t, has } from './i18n.js';

// h builds an element: attrs are properties or attributes ("on" + event
// adds a listener), children are nodes, strings or arrays of them.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false || (k === 'id' && v === '')) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// section is a titled part of a page with its own area for errors.
export function section(id, title, ...children) {
  return h('section', { id, class: 'card', 'aria-labelledby': id + '-title' },
    h('h3', { id: id + '-title' }, title), children);
}

// fixOf is the fix an API error or problem carries.
export function fixOf(x) {
  if (!x) return '';
  const d = x.details || {};
  return x.solution || x.fix || d.solution || d.fix || '';
}

// errorBox shows an API error as the admin reads it: the API's message,
// its fix, and what to quote to support.
export function errorBox(err) {
  const fix = fixOf(err) || (err.code && has('fix.' + err.code) ? t('fix.' + err.code) : '');
  const box = h('div', { class: 'error', role: 'alert' },
    h('p', { class: 'msg' }, h('strong', {}, t('error') + ': '), err.message || String(err)),
    fix ? h('p', { class: 'fix' }, h('strong', {}, t('fix') + ': '), fix) : null,
    err.status === 401 ? h('p', { class: 'fix' }, t('err.reopen')) : null,
    err.code ? h('p', { class: 'meta' }, t('err.code') + ' ' + err.code + (err.requestId ? ' · ' + t('err.request') + ' ' + err.requestId : '')) : null);
  const problems = (err.details && err.details.problems) || err.problems;
  if (Array.isArray(problems) && problems.length) box.append(problemList(problems));
  return box;
}

// problemList shows problems ({code, message, solution}) with their fixes.
export function problemList(problems) {
  return h('ul', { class: 'problems' }, problems.map((p) => h('li', {},
    h('span', { class: 'msg' }, p.message || p.code),
    fixOf(p) ? h('span', { class: 'fix' }, ' ' + t('fix') + ': ' + fixOf(p)) : null)));
}

// load replaces el's content with the error, or with what fn builds.
// While it loads, el is aria-busy: assistive technology waits for the
// outcome, and so do the browser tests.
export async function load(el, fn) {
  el.setAttribute('aria-busy', 'true');
  clear(el).append(h('p', { class: 'muted' }, t('loading')));
  try {
    const content = await fn();
    clear(el).append(...[].concat(content).filter(Boolean));
  } catch (err) {
    clear(el).append(errorBox(err));
  } finally {
    el.removeAttribute('aria-busy');
  }
}

// act runs an action from a button: the button waits, and the outcome (an
// error with its fix, or a note) shows in out.
export async function act(button, out, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (out) clear(out);
  try {
    return await fn();
  } catch (err) {
    if (out) out.append(errorBox(err));
    else notice(err.message);
    markField(button.closest('form'), err);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// markField points at the input an invalid_field error names
// (details.field), so the admin lands on what to correct.
function markField(form, err) {
  if (!form) return;
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const name = err && err.details && err.details.field;
  if (!name) return;
  const input = form.querySelector('[id$="-' + CSS.escape(String(name).replace(/\[\d+\]$/, '')) + '"]');
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

export function notice(text) {
  const n = document.getElementById('notice');
  n.textContent = text;
}

export function badge(state, label) {
  return h('span', { class: 'badge badge-' + String(state).replace(/[^a-z_]/g, '') }, label || state);
}

export function fmtTime(v) {
  if (v === undefined || v === null || v === '' || v === 0) return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(document.documentElement.lang);
}

// field is a labelled input; the label and the input are tied by id.
export function field(id, label, input, hint) {
  input.id = id;
  if (hint) input.setAttribute('aria-describedby', id + '-hint');
  return h('div', { class: 'field' + (input.type === 'checkbox' ? ' check' : '') },
    h('label', { for: id }, label), input, hint ? h('small', { id: id + '-hint' }, hint) : null);
}

export function button(id, label, onclick, kind) {
  return h('button', { type: 'button', id, class: kind || '', onclick }, label);
}

// saveBlob offers a file to download, as the browser's own download.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function base64Blob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

// confirmDialog asks before something that cannot be undone; keyboard and
// screen readers get a modal dialog with the safe choice focused.
export function confirmDialog(text, yesLabel) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, text));
    const no = button('confirm-no', t('cancel'), () => dlg.close('no'));
    const yes = button('confirm-yes', yesLabel, () => dlg.close('yes'), 'danger');
    dlg.append(h('div', { class: 'actions' }, no, yes));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'yes'); });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

// promptDialog asks for one line of text (a reason); it answers the text,
// or null when cancelled.
export function promptDialog(label, okLabel, { minLength = 0, maxLength = 200 } = {}) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'text', id: 'prompt-input', minlength: minLength, maxlength: maxLength, required: true });
    const form = h('form', { method: 'dialog' }, field('prompt-input', label, input),
      h('div', { class: 'actions' }, button('prompt-cancel', t('cancel'), () => dlg.close('')),
        h('button', { type: 'submit', id: 'prompt-ok', class: 'primary', value: 'ok' }, okLabel)));
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'prompt-input' }, form);
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'ok' ? input.value.trim() : null); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}

export function table(headers, rows) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': headers.join(', ') },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
}
