// Portal settings: how customers get into the tenant's portal (guest
// access, invitation codes, serial-number registration), field-work limits,
// invitations and the registration queue. Saves carry the version read, so
// an admin never overwrites a colleague's change unseen.
import { get, put, post, del } from './api.js';
import { t } from './i18n.js';
import { h, clear, section, load, act, badge, fmtTime, field, button, confirmDialog, promptDialog, notice, table } from './ui.js';

export async function render(page) {
  const form = h('div', { id: 'settings' });
  const inv = h('div', { id: 'invitations' });
  const regs = h('div', { id: 'registrations' });
  page.append(
    section('portal-settings', t('set.title'), form),
    section('portal-invitations', t('inv.title'), inv),
    section('portal-registrations', t('reg.title'), regs));
  inv.append(invitationsView());
  await Promise.all([showSettings(form), showRegistrations(regs)]);
}

const checks = ['guest_access', 'invitation_codes', 'serial_registration', 'auto_release', 'retire_public_qr', 'engineers_may_transfer'];
const numbers = {
  max_checkin_distance_m: [50, 2000], max_checkout_distance_m: [50, 20000], max_checkins_per_day: [1, 100],
  auto_checkout_hours: [1, 72], mileage_rate_fen_per_km: [0, 10000],
};
const texts = { display_name: 40, location_reason: 200, time_zone: 64 };

async function showSettings(el) {
  await load(el, async () => settingsForm(await get('/admin/portal/settings'), el));
}

function settingsForm(s, el) {
  const inputs = {};
  for (const k of checks) inputs[k] = h('input', { type: 'checkbox', checked: !!s[k] });
  for (const [k, [min, max]] of Object.entries(numbers)) inputs[k] = h('input', { type: 'number', min, max, step: 1, value: String(s[k] ?? ''), inputmode: 'numeric' });
  for (const [k, max] of Object.entries(texts)) inputs[k] = h('input', { type: 'text', maxlength: max, value: s[k] || '' });
  const sla = h('textarea', { rows: 3 });
  sla.value = Object.entries(s.sla_hours || {}).map(([c, n]) => c + '=' + n).join('\n');
  const out = h('div', { id: 'settings-out', 'aria-live': 'polite' });
  const group = (legend, keys) => h('fieldset', {}, h('legend', {}, legend),
    keys.map((k) => field('set-' + k, t('set.' + k), inputs[k], hintFor(k))));
  const form = h('form', { id: 'settings-form', class: 'form', novalidate: true },
    group(t('set.access'), ['guest_access', 'invitation_codes', 'serial_registration', 'display_name']),
    group(t('set.location'), ['max_checkin_distance_m', 'location_reason']),
    group(t('set.release'), ['auto_release', 'retire_public_qr']),
    group(t('set.fieldwork'), ['max_checkout_distance_m', 'max_checkins_per_day', 'auto_checkout_hours', 'mileage_rate_fen_per_km', 'time_zone']),
    h('fieldset', {}, h('legend', {}, t('set.dispatch')), field('set-engineers_may_transfer', t('set.engineers_may_transfer'), inputs.engineers_may_transfer),
      field('set-sla_hours', t('set.sla_hours'), sla, t('set.sla_hours.hint'))),
    h('p', { class: 'muted', id: 'settings-version' }, t('set.version', { v: s.version })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'settings-save', class: 'primary' }, t('save')),
      button('settings-reload', t('reload'), () => showSettings(el))),
    out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    // Every field goes back: a field left out of a save takes its default.
    const body = { ...s };
    for (const k of checks) body[k] = inputs[k].checked;
    for (const k of Object.keys(numbers)) body[k] = Number(inputs[k].value);
    for (const k of Object.keys(texts)) body[k] = inputs[k].value.trim();
    body.sla_hours = parseSLA(sla.value);
    act(form.querySelector('#settings-save'), out, async () => {
      const saved = await put('/admin/portal/settings', body);
      notice(t('set.saved', { v: saved.version }));
      clear(el).append(settingsForm(saved, el));
    }).then(() => {
      const err = out.querySelector('.error');
      if (err) out.append(h('p', {}, button('settings-conflict-reload', t('set.reload_latest'), () => showSettings(el))));
    });
  });
  return form;
}

function hintFor(k) {
  if (numbers[k]) return t('set.range', { min: numbers[k][0], max: numbers[k][1] });
  return k === 'location_reason' ? t('set.location_reason.hint') : undefined;
}

function parseSLA(text) {
  const out = {};
  for (const line of text.split(/[\n,;]+/)) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// invitationsView lists the tenant's codes (the first 200), creates codes
// and revokes them.
function invitationsView() {
  const created = [];
  const out = h('div', { id: 'inv-out' });
  const list = h('div', { id: 'inv-list' });
  const customer = h('input', { type: 'text', maxlength: 64, required: true });
  const uses = h('input', { type: 'number', min: 1, max: 1000, value: '1', inputmode: 'numeric' });
  const days = h('input', { type: 'number', min: 1, max: 365, value: '30', inputmode: 'numeric' });
  const revokeCode = h('input', { type: 'text', maxlength: 32, autocomplete: 'off' });
  const rows = () => (created.length ? table([t('inv.code'), t('inv.customer'), t('inv.uses'), t('inv.expires'), ''],
    created.map((c) => h('tr', {}, h('td', { class: 'code' }, c.code), h('td', {}, c.customer_id), h('td', {}, c.uses + ' / ' + c.max_uses),
      h('td', {}, fmtTime(c.expires_at)), h('td', {}, c.revoked ? badge('failed', t('inv.revoked')) : button('', t('inv.revoke'), (e) => revoke(e.target, c.code)))))) : '');
  const redraw = () => clear(list).append(rows());
  const revoke = async (btn, code) => {
    if (!(await confirmDialog(t('inv.revoke.confirm', { code }), t('inv.revoke')))) return;
    await act(btn, out, async () => {
      await del('/admin/invitations/' + encodeURIComponent(code));
      for (const c of created) if (c.code === code) c.revoked = true;
      notice(t('inv.revoked.note', { code }));
      redraw();
    });
  };
  const form = h('form', { id: 'inv-form', class: 'form', novalidate: true },
    field('inv-customer', t('inv.customer'), customer), field('inv-uses', t('inv.uses.max'), uses), field('inv-days', t('inv.days'), days),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'inv-create', class: 'primary' }, t('inv.create'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(form.querySelector('button'), out, async () => {
      const inv = await post('/admin/invitations', { customer_id: customer.value.trim(), max_uses: Number(uses.value), expires_in_days: Number(days.value) });
      created.unshift(inv);
      notice(t('inv.created', { code: inv.code }));
      redraw();
    });
  });
  const revokeForm = h('form', { id: 'inv-revoke-form', class: 'inline', novalidate: true }, field('inv-revoke-code', t('inv.revoke.code'), revokeCode),
    h('button', { type: 'submit' }, t('inv.revoke')));
  revokeForm.addEventListener('submit', (e) => { e.preventDefault(); if (revokeCode.value.trim()) revoke(revokeForm.querySelector('button'), revokeCode.value.trim()); });
  load(list, async () => {
    const page = await get('/admin/invitations?limit=200');
    created.push(...(page.invitations || []));
    return rows();
  });
  return h('div', {}, form, list, h('p', { class: 'muted' }, t('inv.note')), revokeForm, out);
}

async function showRegistrations(el) {
  const out = h('div', { id: 'reg-out' });
  const list = h('div', {});
  clear(el).append(list, out);
  await load(list, async () => {
    const r = await get('/admin/registrations');
    if (!r.pending || !r.pending.length) return h('p', { class: 'muted' }, t('reg.none'));
    return table([t('reg.sn'), t('reg.model'), t('reg.address'), t('reg.at'), t('reg.conflict'), ''], r.pending.map((g) => h('tr', {},
      h('td', {}, g.device_sn), h('td', {}, g.model || '—'), h('td', {}, g.address), h('td', {}, fmtTime(g.created_at)),
      h('td', {}, g.sn_conflict ? badge('failed', t('reg.conflict.' + g.sn_conflict_reason)) : '—'),
      h('td', { class: 'row-actions' },
        button('', t('reg.approve'), (e) => decide(e.target, g, 'approve', { version: g.version })),
        button('', t('reg.reject'), async (e) => {
          const reason = await promptDialog(t('reg.reject.reason'), t('reg.reject'), { minLength: 2, maxLength: 200 });
          if (reason) decide(e.target, g, 'reject', { version: g.version, reason });
        }, 'danger')))));
  });
  async function decide(btn, g, what, body) {
    await act(btn, out, async () => {
      await post('/admin/registrations/' + encodeURIComponent(g.id) + '/' + what, body);
      notice(t('reg.done.' + what, { sn: g.device_sn }));
      await showRegistrations(el);
    });
    // The number belongs to another user: the admin may move the device.
    const err = out.querySelector('.error');
    if (err && what === 'approve' && out.textContent.includes('device_registered_to_another_user')) {
      out.append(button('reg-transfer', t('reg.transfer', { sn: g.device_sn }), (e) => decide(e.target, g, 'approve', { ...body, transfer: true }), 'danger'));
    }
  }
}
