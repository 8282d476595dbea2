// Operations: the work-order desk (filters, assign, overdue first), the
// engineer directory, the mileage report with its CSV, devices, the CRM
// connection (webhook, delivery status, replays) and the customers'
// notifications.
import { get, post, put, call, query } from './api.js';
import { t } from './i18n.js';
import { h, clear, section, load, act, badge, fmtTime, field, button, notice, saveBlob, table } from './ui.js';

export async function render(page) {
  const parts = {
    desk: h('div', { id: 'desk' }), engineers: h('div', { id: 'engineers' }), mileage: h('div', { id: 'mileage' }),
    devices: h('div', { id: 'devices' }), crm: h('div', { id: 'crm' }), notify: h('div', { id: 'notifications' }),
  };
  page.append(
    h('nav', { class: 'subnav', 'aria-label': t('ops.sections') }, ['desk', 'engineers', 'mileage', 'devices', 'crm', 'notify'].map((k) =>
      h('a', { href: '#ops-' + k, onclick: (e) => { e.preventDefault(); document.getElementById('ops-' + k).scrollIntoView(); document.getElementById('ops-' + k + '-title').focus(); } }, t('ops.' + k)))),
    section('ops-desk', t('ops.desk'), parts.desk), section('ops-engineers', t('ops.engineers'), parts.engineers),
    section('ops-mileage', t('ops.mileage'), parts.mileage), section('ops-devices', t('ops.devices'), parts.devices),
    section('ops-crm', t('ops.crm'), parts.crm), section('ops-notify', t('ops.notify'), parts.notify));
  for (const el of page.querySelectorAll('section h3')) el.tabIndex = -1;
  parts.mileage.append(mileageView());
  await Promise.all([desk(parts.desk), engineers(parts.engineers), devices(parts.devices), crm(parts.crm), notifications(parts.notify)]);
}

const statuses = ['submitted', 'assigned', 'accepted', 'en_route', 'in_progress', 'on_hold', 'cannot_complete', 'completed', 'cancelled'];

// desk lists the orders; "overdue first" is the API's overdue filter,
// most overdue first.
async function desk(el) {
  const status = h('select', {}, h('option', { value: '' }, t('ops.any')), statuses.map((s) => h('option', { value: s }, t('wo.' + s))));
  const category = h('input', { type: 'text', maxlength: 40 });
  const overdue = h('input', { type: 'checkbox', checked: true });
  const list = h('div', { id: 'desk-list', 'aria-live': 'polite' });
  const out = h('div', {});
  const form = h('form', { id: 'desk-filter', class: 'inline', novalidate: true },
    field('desk-status', t('ops.status'), status), field('desk-category', t('ops.category'), category),
    field('desk-overdue', t('ops.overdue_first'), overdue), h('button', { type: 'submit' }, t('ops.filter')));
  let engineersList = [];
  const show = () => load(list, async () => {
    const [r, e] = await Promise.all([
      get('/admin/work-orders' + query({ status: status.value, category: category.value.trim(), overdue: overdue.checked ? 'true' : '', limit: 50 })),
      get('/admin/engineers?active=true'),
    ]);
    engineersList = e.engineers || [];
    if (!r.work_orders || !r.work_orders.length) return h('p', { class: 'muted' }, overdue.checked ? t('ops.none_overdue') : t('ops.none'));
    return table([t('ops.order'), t('ops.status'), t('ops.category'), t('ops.priority'), t('ops.due'), t('ops.engineer'), t('ops.customer'), t('ops.assign')],
      r.work_orders.map((o) => h('tr', { class: o.overdue ? 'overdue' : '' }, h('td', { class: 'code' }, o.id),
        h('td', {}, badge(o.status, t('wo.' + o.status))), h('td', {}, o.category), h('td', {}, t('prio.' + (o.priority || 'normal'))),
        h('td', {}, fmtTime(o.due_at), o.overdue ? [' ', badge('failed', t('ops.overdue'))] : null),
        h('td', {}, o.engineer_name || o.engineer_id || '—'), h('td', {}, o.contact_name || o.customer_id || '—', h('br'), h('small', { class: 'muted' }, o.address || '')),
        h('td', {}, assignControl(o, engineersList, out, show)))));
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  clear(el).append(form, out, list);
  await show();
}

function assignControl(o, engineersList, out, reload) {
  const id = 'assign-' + o.id;
  const select = h('select', { id, 'aria-label': t('ops.assign_to', { id: o.id }) }, h('option', { value: '' }, '—'),
    engineersList.map((e) => h('option', { value: e.id, selected: e.id === o.engineer_id }, e.display_name)));
  return h('div', { class: 'row-actions' }, select, button('', t('ops.assign'), (e) => {
    if (!select.value) return undefined;
    return act(e.target, out, async () => {
      await post('/admin/work-orders/' + encodeURIComponent(o.id) + '/assign', { engineer_id: select.value, version: o.version });
      notice(t('ops.assigned', { id: o.id }));
      await reload();
    });
  }));
}

async function engineers(el) {
  const out = h('div', {});
  const list = h('div', {});
  const id = h('input', { type: 'text', maxlength: 128, autocomplete: 'off' });
  const name = h('input', { type: 'text', maxlength: 40 });
  const phone = h('input', { type: 'tel', maxlength: 11, inputmode: 'numeric' });
  const skills = h('input', { type: 'text' });
  const active = h('input', { type: 'checkbox', checked: true });
  let versions = {};
  const form = h('form', { id: 'engineer-form', class: 'form', novalidate: true }, h('h4', {}, t('ops.eng.edit')),
    field('eng-id', t('ops.eng.id'), id, t('ops.eng.id.hint')), field('eng-name', t('ops.eng.name'), name), field('eng-phone', t('ops.eng.phone'), phone),
    field('eng-skills', t('ops.eng.skills'), skills, t('ops.eng.skills.hint')), field('eng-active', t('ops.eng.active'), active),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('save'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = id.value.trim();
    act(form.querySelector('button'), out, async () => {
      await put('/admin/engineers/' + encodeURIComponent(key), { display_name: name.value.trim(), phone: phone.value.trim(),
        skills: skills.value.split(/[\s,，]+/).filter(Boolean), active: active.checked, version: versions[key] || 0 });
      notice(t('ops.eng.saved', { name: name.value.trim() }));
      await show();
    });
  });
  const show = () => load(list, async () => {
    const r = await get('/admin/engineers');
    versions = {};
    for (const e of r.engineers || []) versions[e.id] = e.version;
    if (!r.engineers || !r.engineers.length) return h('p', { class: 'muted' }, t('ops.eng.none'));
    return table([t('ops.eng.name'), t('ops.eng.id'), t('ops.eng.phone'), t('ops.eng.skills'), t('ops.eng.active'), ''], r.engineers.map((e) => h('tr', {},
      h('td', {}, e.display_name), h('td', { class: 'code' }, e.id), h('td', {}, e.phone || '—'), h('td', {}, (e.skills || []).join(', ') || '—'),
      h('td', {}, e.active ? t('yes') : t('no')), h('td', {}, button('', t('ops.eng.edit_one'), () => {
        id.value = e.id; name.value = e.display_name; phone.value = e.phone || ''; skills.value = (e.skills || []).join(', '); active.checked = e.active;
        name.focus();
      })))));
  });
  clear(el).append(list, form, out);
  await show();
}

function localDate(d) {
  const z = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return z.toISOString().slice(0, 10);
}

function mileageView() {
  const today = new Date();
  const from = h('input', { type: 'date', value: localDate(new Date(today.getFullYear(), today.getMonth(), 1)) });
  const to = h('input', { type: 'date', value: localDate(today) });
  const report = h('div', { id: 'mileage-report', 'aria-live': 'polite' });
  const out = h('div', {});
  const form = h('form', { id: 'mileage-form', class: 'inline', novalidate: true }, field('mileage-from', t('ops.from'), from), field('mileage-to', t('ops.to'), to),
    h('button', { type: 'submit', id: 'mileage-show' }, t('ops.show')),
    button('mileage-csv', t('ops.csv'), (e) => act(e.target, out, async () => {
      const csv = await call('GET', '/admin/mileage' + query({ from: from.value, to: to.value, format: 'csv' }), undefined, { asBlob: true });
      saveBlob(csv, 'mileage-' + from.value + '-' + to.value + '.csv');
    })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(report, async () => {
      const r = await get('/admin/mileage' + query({ from: from.value, to: to.value }));
      const rows = (r.engineers || []).map((e) => h('tr', {}, h('td', { class: 'code' }, e.engineer_id), h('td', {}, e.total_km.toFixed(1)),
        h('td', {}, (e.amount_fen / 100).toFixed(2)), h('td', {}, String((e.flagged || []).length))));
      return [h('p', {}, t('ops.mileage.total', { km: r.total_km.toFixed(1), yuan: (r.amount_fen / 100).toFixed(2), flagged: (r.flagged || []).length, tz: r.time_zone })),
        rows.length ? table([t('ops.engineer'), t('ops.km'), t('ops.amount'), t('ops.flagged')], rows) : h('p', { class: 'muted' }, t('ops.mileage.none'))];
    });
  });
  return h('div', {}, form, out, report);
}

async function devices(el) {
  const q = h('input', { type: 'search', maxlength: 64, autocomplete: 'off' });
  const list = h('div', { id: 'device-list' });
  const form = h('form', { id: 'device-search', class: 'inline', novalidate: true }, field('device-q', t('ops.dev.search'), q),
    h('button', { type: 'submit' }, t('ops.filter')));
  const out = h('div', {});
  const show = () => load(list, async () => {
    const r = await get('/admin/devices' + query({ q: q.value.trim(), limit: 50 }));
    if (!r.devices || !r.devices.length) return h('p', { class: 'muted' }, t('ops.dev.none'));
    const sns = r.devices.map((d) => d.sn);
    const exportAll = button('device-qr-export', t('ops.dev.export', { n: sns.length }), (e) => act(e.target, out, async () => {
      saveBlob(await call('POST', '/admin/devices/qr-export', { sns }, { asBlob: true }), 'device-qr-codes.zip');
    }));
    return [h('div', { class: 'actions' }, exportAll), out, table([t('reg.sn'), t('reg.model'), t('reg.address'), t('ops.customer'), t('ops.dev.approved'), t('ops.dev.pending')], r.devices.map((d) => h('tr', {},
      h('td', { class: 'code' }, d.sn), h('td', {}, d.model || '—'), h('td', {}, d.address || '—'), h('td', {}, d.owner_customer_id || d.owner_user_id || '—'),
      h('td', {}, fmtTime(d.approved_at)), h('td', {}, String(d.pending_registrations || 0)))))];
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  clear(el).append(form, h('p', { class: 'muted' }, t('ops.dev.qr')), list);
  await show();
}

// crm shows the tenant's webhook, the delivery status with its dead
// letters, and replays them.
async function crm(el) {
  const out = h('div', { id: 'crm-out' });
  const hook = h('div', {});
  const status = h('div', { id: 'delivery-status' });
  clear(el).append(hook, status, out);
  await Promise.all([
    load(hook, async () => {
      const w = await get('/admin/webhook').catch((err) => { if (err.status === 404) return null; throw err; });
      const url = h('input', { type: 'url', value: w ? w.url : '', maxlength: 2048, placeholder: 'https://' });
      const enabled = h('input', { type: 'checkbox', checked: w ? w.enabled : true });
      const rotate = h('input', { type: 'checkbox' });
      const form = h('form', { id: 'webhook-form', class: 'form', novalidate: true },
        field('webhook-url', t('ops.hook.url'), url), field('webhook-enabled', t('ops.hook.enabled'), enabled),
        field('webhook-rotate', t('ops.hook.rotate'), rotate, w ? t('ops.hook.secret', { hint: w.secret_hint }) : t('ops.hook.new')),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('save')),
          button('webhook-test', t('ops.hook.test'), (e) => act(e.target, out, async () => {
            const r = await post('/admin/webhook/test');
            notice(t('ops.hook.tested', { status: r && r.status !== undefined ? r.status : 'ok' }));
          }))));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act(form.querySelector('button[type=submit]'), out, async () => {
          const saved = await put('/admin/webhook', { url: url.value.trim(), enabled: enabled.checked, rotate_secret: rotate.checked, version: w ? w.version : 0 });
          if (saved.secret) out.append(h('p', { class: 'note', id: 'webhook-secret' }, t('ops.hook.once'), ' ', h('code', {}, saved.secret)));
          notice(t('ops.hook.saved'));
        });
      });
      return form;
    }),
    load(status, async () => {
      const s = await get('/admin/events/status');
      const parts = [h('p', {}, t('ops.del.counts', { enqueued: s.enqueued, delivered: s.delivered, dead: s.dead_lettered, backlog: s.backlog })),
        h('p', { class: 'muted' }, t('ops.del.last', { at: fmtTime(s.last_success_at), failures: s.consecutive_failures }))];
      if (s.last_failure) parts.push(h('div', { class: 'error' }, h('p', {}, t('ops.del.failure', { at: fmtTime(s.last_failure.at), error: s.last_failure.error }))));
      if (s.dead_letters && s.dead_letters.length) {
        parts.push(table([t('ops.del.event'), t('ops.del.type'), t('ops.del.attempts')], s.dead_letters.map((d) => h('tr', {},
          h('td', { class: 'code' }, d.event_id), h('td', {}, d.type), h('td', {}, String(d.attempts))))));
        parts.push(button('replay-dead', t('ops.del.replay'), (e) => act(e.target, out, async () => {
          await post('/admin/events/replay', { dead_letters: true });
          notice(t('ops.del.replayed'));
          await crm(el);
        }), 'primary'));
      } else parts.push(h('p', { class: 'muted' }, t('ops.del.no_dead')));
      parts.push(replayForm(out));
      return parts;
    }),
  ]);
}

// replayForm queues again every event of a period (a CRM that lost data);
// the API takes 500 a call, so it continues until nothing is left.
function replayForm(out) {
  const now = new Date();
  const from = h('input', { type: 'datetime-local', value: localDate(new Date(now.getTime() - 86400000)) + 'T00:00' });
  const to = h('input', { type: 'datetime-local', value: localDate(now) + 'T23:59' });
  const form = h('form', { id: 'replay-form', class: 'inline', novalidate: true }, field('replay-from', t('ops.from'), from), field('replay-to', t('ops.to'), to),
    h('button', { type: 'submit' }, t('ops.del.replay_period')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(form.querySelector('button'), out, async () => {
      const body = { from: Math.floor(new Date(from.value).getTime() / 1000), to: Math.floor(new Date(to.value).getTime() / 1000) };
      let queued = 0;
      for (let page = 0; page < 100; page++) {
        const r = await post('/admin/events/replay', body);
        queued += (r && r.replayed) || 0;
        if (!r || !r.more || !r.next) break;
        body.after = r.next;
      }
      notice(t('ops.del.replayed_period', { n: queued }));
    });
  });
  return h('div', {}, h('h4', {}, t('ops.del.replay_period')), form);
}

async function notifications(el) {
  const out = h('div', {});
  const body = h('div', {});
  clear(el).append(body, out);
  await load(body, async () => {
    const n = await get('/admin/notifications');
    const boxes = (n.kinds || []).map((k) => ({ k, input: h('input', { type: 'checkbox', checked: k.on }) }));
    const form = h('form', { id: 'notify-form', class: 'form', novalidate: true }, h('fieldset', {}, h('legend', {}, t('ops.notify.kinds')),
      boxes.map(({ k, input }) => field('notify-' + k.kind, k.name || k.kind, input))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('save'))));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      act(form.querySelector('button'), out, async () => {
        await put('/admin/notifications/settings', { off: boxes.filter((b) => !b.input.checked).map((b) => b.k.kind), version: n.settings ? n.settings.version : 0 });
        notice(t('ops.notify.saved'));
        await notifications(el);
      });
    });
    const totals = (n.stats && n.stats.totals) || {};
    const parts = [form, h('h4', {}, t('ops.notify.stats')),
      h('p', { id: 'notify-totals' }, Object.keys(totals).length ? Object.entries(totals).map(([k, v]) => k + ' ' + v).join(' · ') : t('ops.notify.none'))];
    const lp = n.stats && n.stats.last_problem;
    if (lp) parts.push(h('div', { class: 'error' }, h('p', {}, h('strong', {}, t('ops.notify.problem') + ': '), lp.message),
      lp.fix ? h('p', { class: 'fix' }, h('strong', {}, t('fix') + ': '), lp.fix) : null, h('p', { class: 'meta' }, fmtTime(lp.at))));
    for (const [which, tpl] of Object.entries(n.templates || {})) {
      if (tpl && tpl.missing && Object.keys(tpl.missing).length) {
        parts.push(h('p', { class: 'note' }, t('ops.notify.missing.' + which), ' ', Object.entries(tpl.missing).map(([k, why]) => k + ': ' + why).join('; ')));
      }
    }
    return parts;
  });
}
