// Release: prepare the enterprise mini program, submit our code template
// for WeChat's review, follow the review (with WeChat's reason and
// screenshots when it is rejected), release, undo, roll back; QR codes,
// trial testers, the review quota and speed-up.
import { get, post, del, call, query } from './api.js';
import { t } from './i18n.js';
import { h, clear, section, load, act, errorBox, badge, fmtTime, field, button, confirmDialog, notice, saveBlob, base64Blob, table } from './ui.js';

let poll = null;

export function leave() {
  if (poll) clearInterval(poll);
  poll = null;
}

export async function render(page) {
  const versions = h('div', { id: 'versions' });
  const review = h('div', { id: 'review', 'aria-live': 'polite' });
  const prepare = h('div', { id: 'prepare-area' });
  const qr = h('div', { id: 'qrcodes' });
  const testers = h('div', { id: 'testers' });
  page.append(
    section('release-versions', t('rel.versions'), versions),
    section('release-prepare', t('rel.prepare'), prepare),
    section('release-review', t('rel.review'), review),
    section('release-qr', t('rel.qr'), qr),
    section('release-testers', t('rel.testers'), testers));
  prepare.append(prepareView());
  qr.append(qrView());
  await Promise.all([showVersions(versions), showReview(review, versions), showTesters(testers)]);
}

async function showVersions(el) {
  await load(el, async () => {
    const v = await get('/admin/miniprogram/versions');
    const parts = [];
    if (v.new_version_available) {
      parts.push(h('p', { class: 'alert', id: 'new-version', role: 'status' },
        t('rel.new_version', { version: v.latest ? v.latest.user_version : '' })));
    }
    if (v.release_pending) parts.push(h('p', { class: 'note', id: 'release-pending' }, t('rel.release_pending')));
    if (v.mode !== 'enterprise') parts.push(h('p', { class: 'muted' }, t('rel.public_mode')));
    parts.push(table([t('rel.template'), t('rel.version'), t('rel.desc'), t('rel.created')],
      (v.templates || []).map((tp) => h('tr', {}, h('td', {}, String(tp.template_id)), h('td', {}, tp.user_version,
        v.latest && v.latest.template_id === tp.template_id ? [' ', badge('done', t('rel.latest'))] : null),
      h('td', {}, tp.user_desc), h('td', {}, fmtTime(tp.create_time))))));
    return parts;
  });
}

// actionButtons offers what WeChat's state allows now (the API's
// next_actions), each with its own wording.
const actions = {
  submit_for_review: { id: 'submit', label: (st) => (['rejected', 'withdrawn', 'submit_failed', 'release_failed'].includes(st.state) ? t('rel.resubmit') : t('rel.submit')), run: () => post('/admin/miniprogram/review', {}), kind: 'primary' },
  release: { id: 'release', label: () => t('rel.release'), run: () => post('/admin/miniprogram/release'), kind: 'primary', confirm: 'rel.release.confirm' },
  undo_review: { id: 'undo', label: () => t('rel.undo'), run: () => post('/admin/miniprogram/undo-review'), confirm: 'rel.undo.confirm' },
  rollback: { id: 'rollback', label: () => t('rel.rollback'), run: () => post('/admin/miniprogram/rollback'), kind: 'danger', confirm: 'rel.rollback.confirm' },
  speed_up_review: { id: 'speedup', label: () => t('rel.speedup'), run: () => post('/admin/miniprogram/speedup') },
};

async function showReview(el, versionsEl) {
  let st;
  await load(el, async () => {
    st = await get('/admin/miniprogram/release-status');
    return reviewView(st, el, versionsEl);
  });
  leave();
  if (st && ['under_review', 'review_delayed', 'waiting_privacy_scan'].includes(st.state)) {
    // WeChat's reviewers answer by push: follow it while the page is open.
    poll = setInterval(async () => {
      let now;
      try { now = await get('/admin/miniprogram/release-status'); } catch { return; }
      if (now.state !== st.state) { showReview(el, versionsEl); showVersions(versionsEl); }
    }, 3000);
  }
}

function reviewView(st, el, versionsEl) {
  const out = h('div', { id: 'review-out' });
  const parts = [h('dl', { class: 'facts' },
    [h('dt', {}, t('rel.state')), h('dd', { id: 'release-state' }, badge(st.state, t('state.' + st.state)))],
    [h('dt', {}, t('rel.version')), h('dd', {}, st.version || '—')],
    [h('dt', {}, t('rel.released')), h('dd', { id: 'released-version' }, st.released_version || '—')],
    [h('dt', {}, t('rel.audit')), h('dd', {}, st.audit_id ? String(st.audit_id) : '—')],
    [h('dt', {}, t('rel.submitted')), h('dd', {}, fmtTime(st.submitted_at))])];
  if (st.state === 'rejected' && st.audit_reason) {
    parts.push(h('div', { class: 'error', id: 'audit-reason', role: 'alert' }, h('p', {}, h('strong', {}, t('rel.reason') + ': '), st.audit_reason),
      h('p', { class: 'fix' }, h('strong', {}, t('fix') + ': '), (st.last_error && st.last_error.solution) || t('rel.reason.fix'))));
    const shots = h('div', { id: 'screenshots' });
    parts.push(shots);
    showScreenshots(shots);
  } else if (st.last_error) {
    parts.push(errorBox(st.last_error));
  }
  const buttons = (st.next_actions || []).filter((a) => actions[a]).map((a) => {
    const spec = actions[a];
    return button(spec.id, spec.label(st), async (e) => {
      if (spec.confirm && !(await confirmDialog(t(spec.confirm), spec.label(st)))) return;
      await act(e.target, out, async () => {
        await spec.run();
        notice(t('rel.done.' + a));
        await Promise.all([showReview(el, versionsEl), showVersions(versionsEl)]);
      });
    }, spec.kind);
  });
  buttons.push(button('refresh-status', t('refresh'), (e) => act(e.target, out, () => showReview(el, versionsEl))));
  parts.push(h('div', { class: 'actions' }, buttons), out);
  parts.push(quotaView(st));
  return parts;
}

function quotaView(st) {
  const q = st.review_quota;
  const s = st.speed_up || {};
  return h('div', { class: 'quota' }, h('h4', {}, t('rel.quota')),
    q ? h('p', { id: 'quota' }, t('rel.quota.line', { rest: q.rest, limit: q.limit, srest: q.speedup_rest, slimit: q.speedup_limit }))
      : h('p', { class: 'muted' }, st.review_quota_unavailable ? st.review_quota_unavailable.message : '—'),
    h('p', { class: 'muted', id: 'speedup-offer' }, s.offered ? t('rel.speedup.offered') : t('rel.speedup.reason.' + (s.reason || 'no_review_pending'))));
}

async function showScreenshots(el) {
  await load(el, async () => {
    const r = await get('/admin/miniprogram/audit-screenshots');
    if (!r.screenshots || !r.screenshots.length) return h('p', { class: 'muted' }, t('rel.shots.none'));
    return [h('h4', {}, t('rel.shots')), h('ul', { class: 'shots' }, r.screenshots.map((s) => h('li', {},
      s.url ? h('a', { href: s.url, target: '_blank', rel: 'noopener' }, h('img', { src: s.url, alt: t('rel.shot', { n: s.n }), loading: 'lazy' }))
        : errorBox(s.problem || { message: t('rel.shot.missing') }))))];
  });
}

function prepareView() {
  const list = h('div', { id: 'checklist', 'aria-live': 'polite' });
  const out = h('div', {});
  return h('div', {}, h('p', { class: 'muted' }, t('rel.prepare.explain')),
    h('div', { class: 'actions' }, button('prepare', t('rel.prepare.run'), (e) => act(e.target, out, async () => {
      const r = await post('/admin/miniprogram/prepare');
      clear(list).append(h('ol', { class: 'steps' }, (r.steps || []).map((s) => h('li', { 'data-step': s.step },
        badge(s.status, t('step.status.' + s.status)), ' ', h('strong', {}, t('step.' + s.step)), stepDetail(s)))));
    }), 'primary')), out, list);
}

// stepDetail is a step's note; the configuration the mini program gets
// (ext.json) is long, so it folds away.
function stepDetail(s) {
  if (!s.detail) return null;
  if (s.step === 'ext_json') return h('details', {}, h('summary', {}, t('rel.prepare.show')), h('pre', {}, s.detail));
  return h('span', { class: 'muted' }, ' — ' + s.detail);
}

function qrView() {
  const shown = h('div', { id: 'qr-shown', 'aria-live': 'polite' });
  const out = h('div', {});
  const batchOut = h('div', {});
  const sn = h('input', { type: 'text', maxlength: 64, autocomplete: 'off' });
  const sns = h('textarea', { rows: 4 });
  const showCode = (kind, params, name) => async (e) => act(e.target, out, async () => {
    const code = await get('/admin/miniprogram/qrcode' + query(params));
    const src = 'data:' + code.content_type + ';base64,' + code.image_base64;
    const ext = code.content_type === 'image/png' ? 'png' : 'jpg';
    clear(shown).append(h('figure', {}, h('img', { id: 'qr-image', src, alt: t('rel.qr.alt.' + kind), width: 240, height: 240 }),
      h('figcaption', {}, t('rel.qr.kind.' + code.kind), kind === 'device' ? ' · ' + params.device_sn : ''),
      h('p', {}, h('a', { id: 'qr-download', class: 'button', href: src, download: name + '.' + ext }, t('rel.qr.download')))));
  });
  return h('div', {},
    h('div', { class: 'actions' },
      button('qr-tenant', t('rel.qr.tenant'), showCode('tenant', {}, 'tenant-qr')),
      button('qr-trial', t('rel.qr.trial'), showCode('trial', { kind: 'trial' }, 'trial-qr'))),
    h('div', { class: 'inline' }, field('qr-sn', t('rel.qr.sn'), sn),
      button('qr-device', t('rel.qr.device'), (e) => showCode('device', { device_sn: sn.value.trim() }, 'device-' + sn.value.trim())(e))),
    out, shown,
    field('qr-sns', t('rel.qr.batch'), sns, t('rel.qr.batch.hint')),
    h('div', { class: 'actions' }, button('qr-export', t('rel.qr.export'), (e) => act(e.target, batchOut, async () => {
      const list = sns.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
      const zip = await call('POST', '/admin/devices/qr-export', { sns: list }, { asBlob: true });
      saveBlob(zip, 'device-qr-codes.zip');
      notice(t('rel.qr.exported', { n: list.length }));
    }))), batchOut);
}

async function showTesters(el) {
  const out = h('div', {});
  const wechatID = h('input', { type: 'text', maxlength: 40, autocomplete: 'off' });
  const form = h('form', { id: 'tester-add', class: 'inline', novalidate: true }, field('tester-id', t('rel.testers.id'), wechatID, t('rel.testers.hint')),
    h('button', { type: 'submit', id: 'tester-submit' }, t('rel.testers.add')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(form.querySelector('button'), out, async () => {
      await post('/admin/miniprogram/testers', { wechat_id: wechatID.value.trim() });
      notice(t('rel.testers.added', { id: wechatID.value.trim() }));
      await showTesters(el);
    });
  });
  const list = h('div', {});
  clear(el).append(list, form, out);
  await load(list, async () => {
    const r = await get('/admin/miniprogram/testers');
    if (!r.testers || !r.testers.length) return h('p', { class: 'muted' }, t('rel.testers.none'));
    return table([t('rel.testers.id'), t('rel.testers.by'), t('rel.testers.at'), ''], r.testers.map((x) => h('tr', {},
      h('td', {}, x.wechat_id || x.userstr), h('td', {}, x.added_by || '—'), h('td', {}, fmtTime(x.added_at)),
      h('td', {}, button('', t('remove'), async (e) => {
        if (!(await confirmDialog(t('rel.testers.remove', { id: x.wechat_id || x.userstr }), t('remove')))) return;
        await act(e.target, out, async () => { await del('/admin/miniprogram/testers/' + encodeURIComponent(x.userstr)); await showTesters(el); });
      })))));
  });
}
