// Channel: which mini program the tenant's customers use (the platform's
// public one, or the enterprise's own), connecting and unbinding it, the
// official account, and quick registration for a tenant without one.
import { get, post, del } from './api.js';
import { t } from './i18n.js';
import { h, clear, section, load, act, errorBox, problemList, badge, fmtTime, field, button, confirmDialog, notice } from './ui.js';
import { qrSVG } from './qr.js';

let poll = null;

export function leave() {
  if (poll) clearInterval(poll);
  poll = null;
  window.removeEventListener('focus', refreshOnFocus);
}

let refreshOnFocus = () => {};

export async function render(page) {
  const status = h('div', { id: 'binding', 'aria-live': 'polite' });
  const connect = h('div', { id: 'connect' });
  const official = h('div', { id: 'official' });
  const register = h('div', { id: 'fast-registration' });
  page.append(
    section('mini-program', t('ch.mp'), status, connect),
    section('official-account', t('ch.oa'), official),
    section('quick-registration', t('ch.fr'), h('p', { class: 'muted' }, t('ch.fr.intro')), register));
  const st = await showStatus(status, connect, page);
  await Promise.all([showOfficial(official), showFastRegistration(register, st)]);
}

// showStatus shows the binding and what the admin can do about it; it
// answers the status read (undefined when it failed).
async function showStatus(status, connect, page) {
  let st;
  await load(status, async () => {
    st = await get('/admin/miniprogram/binding');
    return statusView(st, page);
  });
  clear(connect);
  if (st && (st.mode !== 'enterprise' || st.needs_reauth)) connect.append(connectPanel(st, status, connect, page));
  return st;
}

function statusView(st, page) {
  const b = st.binding;
  const out = [h('p', { class: 'mode' }, t('ch.mode') + ' ',
    badge(st.mode, st.mode === 'enterprise' ? t('ch.mode.enterprise') : t('ch.mode.public')))];
  if (st.mode === 'public') out.push(h('p', { class: 'muted' }, t('ch.public.explain')));
  if (b && st.mode === 'enterprise') {
    const logo = h('img', { class: 'logo', alt: t('ch.logo', { name: b.name }), width: 64, height: 64, src: httpsURL(b.logo) });
    logo.addEventListener('error', () => logo.replaceWith(h('span', { class: 'logo logo-missing', 'aria-hidden': 'true' }, (b.name || '?').slice(0, 1))));
    out.push(h('div', { class: 'mp' }, logo, h('dl', { class: 'facts' },
      fact(t('ch.name'), b.name, 'mp-name'), fact(t('ch.entity'), b.principal_name), fact('AppID', b.appid),
      fact(t('ch.certified'), b.certified ? t('yes') : t('no')),
      fact(t('ch.categories'), (b.categories || []).join('、') || '—'),
      fact(t('ch.permissions'), (b.permissions || []).join(', ') || '—'), fact(t('ch.bound_at'), fmtTime(b.bound_at)))));
    const tk = st.tokens;
    out.push(h('p', { id: 'token-health' }, t('ch.tokens') + ' ',
      tk ? badge(tk.needs_reauth ? 'failed' : 'done', tk.needs_reauth ? t('ch.tokens.reauth') : t('ch.tokens.ok')) : badge('idle', t('ch.tokens.none')),
      tk && tk.expires_at ? ' ' + t('ch.tokens.expires', { at: fmtTime(tk.expires_at) }) : ''));
    const out2 = h('div', {});
    out.push(h('div', { class: 'actions' }, button('unbind', t('ch.unbind'), async (e) => {
      if (!(await confirmDialog(t('ch.unbind.confirm', { name: b.name }), t('ch.unbind')))) return;
      await act(e.target, out2, async () => {
        await del('/admin/miniprogram/binding');
        notice(t('ch.unbound'));
        rerender(page);
      });
    }, 'danger')), out2);
  } else if (b && b.status === 'unbound') {
    out.push(h('p', { class: 'muted' }, t('ch.history', { name: b.name, appid: b.appid, reason: b.unbound_reason || '—' })));
  }
  if (st.finishing) out.push(h('p', { class: 'note', id: 'finishing' }, st.finishing.message));
  if (st.last_error) {
    out.push(h('div', { class: 'error', role: 'alert', id: 'last-error' }, h('p', {}, h('strong', {}, t('ch.last_error') + ': '), st.last_error.message),
      st.last_error.solution ? h('p', { class: 'fix' }, h('strong', {}, t('fix') + ': '), st.last_error.solution) : null));
  }
  if (st.problems && st.problems.length) out.push(problemList(st.problems));
  return out;
}

function fact(term, value, id) {
  return [h('dt', {}, term), h('dd', id ? { id } : {}, value === undefined || value === '' ? '—' : String(value))];
}

// httpsURL upgrades WeChat's http logo links (the page is https, and the
// policy allows WeChat's image hosts over https only).
function httpsURL(u) {
  return typeof u === 'string' && u.startsWith('http://') ? 'https://' + u.slice(7) : u || '';
}

function rerender(page) {
  leave();
  clear(page);
  render(page);
}

// connectPanel is "Upgrade to an enterprise mini program": it asks for our
// start page's link, offers it on this computer and as a QR code for
// WeChat on a phone, and watches the status until WeChat has redirected
// the admin back and the binding shows the outcome.
function connectPanel(st, status, connect, page) {
  const out = h('div', { id: 'connect-out' });
  const label = st.needs_reauth ? t('ch.reauth') : t('ch.upgrade');
  return h('div', { class: 'connect' },
    h('p', {}, st.needs_reauth ? t('ch.reauth.explain') : t('ch.upgrade.explain')),
    button('upgrade', label, (e) => act(e.target, out, async () => {
      const link = await post('/admin/miniprogram/authorization');
      clear(out).append(startLinks(link, 'start-link', t('ch.start.pc'), t('ch.start.qr')));
      watch(st, page);
    }), 'primary'),
    out);
}

// startLinks offers a start page link: on this computer, and as a QR code
// for a phone (opened in WeChat, the page puts WeChat's own link first).
function startLinks(link, id, pcText, qrText) {
  const expires = fmtTime(link.expires_at);
  let qr = null;
  try { qr = qrSVG(link.start_url, qrText); } catch { qr = null; }
  return h('div', { class: 'start-links' },
    h('div', {}, h('h4', {}, t('ch.start.computer')),
      h('p', {}, h('a', { id, href: link.start_url, target: '_blank', rel: 'noopener', class: 'button primary' }, pcText)),
      h('p', { class: 'muted' }, t('ch.start.pc.explain'))),
    h('div', {}, h('h4', {}, t('ch.start.phone')), qr, h('p', { class: 'muted' }, t('ch.start.qr.explain')),
      h('p', {}, h('a', { id: id + '-mobile', href: link.start_url, target: '_blank', rel: 'noopener' }, t('ch.start.mobile')))),
    h('p', { class: 'note' }, t('ch.start.expires', { at: expires })));
}

// watch polls the status while the admin is on WeChat's page (and at once
// when they come back to this tab) and shows the outcome when it changes.
function watch(before, page) {
  leave();
  const seen = JSON.stringify([before.mode, before.last_error, before.binding && before.binding.appid]);
  const started = Date.now();
  const check = async () => {
    if (Date.now() - started > 10 * 60 * 1000) return leave();
    let st;
    try { st = await get('/admin/miniprogram/binding'); } catch { return undefined; }
    if (JSON.stringify([st.mode, st.last_error, st.binding && st.binding.appid]) === seen || st.finishing) return undefined;
    leave();
    notice(st.mode === 'enterprise' ? t('ch.connected', { name: st.binding.name }) : t('ch.not_connected'));
    rerender(page);
    return undefined;
  };
  poll = setInterval(check, 2000);
  refreshOnFocus = check;
  window.addEventListener('focus', refreshOnFocus);
}

async function showOfficial(el) {
  await load(el, async () => {
    const oa = await get('/admin/officialaccount/binding');
    const out = h('div', {});
    const parts = [];
    if (oa.connected && oa.official_account) {
      const a = oa.official_account;
      parts.push(h('dl', { class: 'facts' }, fact(t('ch.name'), a.name), fact(t('ch.entity'), a.principal_name), fact('AppID', a.appid),
        fact(t('ch.certified'), a.certified ? t('yes') : t('no'))),
      h('div', { class: 'actions' }, button('oa-disconnect', t('ch.oa.disconnect'), async (e) => {
        if (!(await confirmDialog(t('ch.oa.disconnect.confirm', { name: a.name }), t('ch.oa.disconnect')))) return;
        await act(e.target, out, async () => { await del('/admin/officialaccount/binding'); await showOfficial(el); });
      }, 'danger')));
    } else {
      parts.push(h('p', { class: 'muted' }, t('ch.oa.none')),
        button('oa-connect', t('ch.oa.connect'), (e) => act(e.target, out, async () => {
          const link = await post('/admin/officialaccount/authorization');
          clear(out).append(startLinks(link, 'oa-start-link', t('ch.start.pc'), t('ch.start.qr')));
        })));
    }
    if (oa.last_error) parts.push(errorBox(oa.last_error));
    parts.push(out, await openAccountView(el));
    return parts;
  });
}

// openAccountView is the same-entity binding: the mini program and the
// official account under one open platform account, so a customer is one
// person (one unionid) in both.
async function openAccountView(el) {
  const out = h('div', {});
  const box = h('div', { id: 'open-account' }, h('h4', {}, t('ch.open')), h('p', { class: 'muted' }, t('ch.open.explain')));
  let st = null;
  try { st = await get('/admin/open-account'); } catch (err) { box.append(errorBox(err)); return box; }
  if (st && st.shared && st.open_account) {
    box.append(h('p', {}, t('ch.open.shared', { id: st.open_account.open_appid })),
      h('ul', {}, (st.open_account.accounts || []).map((a) => h('li', {}, (a.name || a.appid) + ' (' + a.kind + ')'))),
      button('open-unshare', t('ch.open.stop'), async (e) => {
        if (!(await confirmDialog(t('ch.open.stop.confirm'), t('ch.open.stop')))) return;
        await act(e.target, out, async () => { await del('/admin/open-account'); await showOfficial(el); });
      }, 'danger'));
  } else {
    box.append(button('open-share', t('ch.open.start'), (e) => act(e.target, out, async () => {
      await post('/admin/open-account');
      notice(t('ch.open.done'));
      await showOfficial(el);
    })));
  }
  box.append(out);
  return box;
}

// showFastRegistration offers the two quick-registration paths to a
// tenant without a mini program of its own, and the one running.
async function showFastRegistration(el, st) {
  if (st && st.mode === 'enterprise') {
    clear(el).append(h('p', { class: 'muted' }, t('ch.fr.bound')));
    return;
  }
  await load(el, async () => {
    // 404: no registration was ever started.
    const reg = await get('/admin/miniprogram/fast-registration').catch((err) => {
      if (err.status === 404) return null;
      throw err;
    });
    const out = h('div', {});
    const r = reg && reg.registration;
    const parts = [];
    if (r) {
      parts.push(h('p', { id: 'fr-status' }, t('ch.fr.status') + ' ', badge(r.status), ' ', r.name || '', r.appid ? ' · ' + r.appid : ''));
      if (reg.wechat_state) parts.push(h('p', { class: 'muted' }, t('ch.fr.wechat') + ' ' + reg.wechat_state));
      if (reg.message) parts.push(h('p', { class: 'note' }, reg.message));
      if (r.problem) parts.push(errorBox(r.problem));
    }
    parts.push(h('h4', {}, t('ch.fr.oa')), h('p', { class: 'muted' }, t('ch.fr.oa.explain')),
      button('fr-oa', t('ch.fr.oa.start'), (e) => act(e.target, out, async () => {
        const link = await post('/admin/miniprogram/fast-registration/official-account');
        clear(out).append(h('p', {}, h('a', { id: 'fr-confirm', href: link.confirm_url, target: '_blank', rel: 'noopener', class: 'button' },
          t('ch.fr.oa.open'))), h('p', { class: 'note' }, t('ch.start.expires', { at: fmtTime(link.expires_at) })));
      })));
    parts.push(h('h4', {}, t('ch.fr.ent')), enterpriseForm(out, el, st), out);
    return parts;
  });
}

function enterpriseForm(out, el, st) {
  const inputs = {
    name: h('input', { type: 'text', required: true, maxlength: 100, autocomplete: 'organization' }),
    code: h('input', { type: 'text', required: true, minlength: 18, maxlength: 18, inputmode: 'latin' }),
    legal_persona_name: h('input', { type: 'text', required: true }),
    legal_persona_wechat: h('input', { type: 'text', required: true, minlength: 6, maxlength: 20 }),
    component_phone: h('input', { type: 'tel', required: true, autocomplete: 'tel' }),
  };
  const form = h('form', { id: 'fr-enterprise', class: 'form', novalidate: true },
    Object.entries(inputs).map(([k, input]) => field('fr-' + k, t('ch.fr.' + k), input)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'fr-ent-submit' }, t('ch.fr.ent.submit'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { code_type: 1 };
    for (const [k, input] of Object.entries(inputs)) body[k] = input.value.trim();
    act(form.querySelector('button[type=submit]'), out, async () => {
      const res = await post('/admin/miniprogram/fast-registration/enterprise', body);
      notice(res.message || t('ch.fr.sent'));
      await showFastRegistration(el, st);
    });
  });
  return form;
}
