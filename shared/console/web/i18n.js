// The console's words, in Chinese (the default) and English. The choice is
// kept in localStorage; the API's own messages are shown as the API wrote
// them.
const langKey = 'wxchannel.console.lang';

const zh = {
  title: '小程序渠道控制台', skip: '跳到主要内容', nav: '主导航',
  'nav.channel': '渠道', 'nav.release': '发布', 'nav.settings': '门户设置', 'nav.operations': '运营',
  'signin.title': '请从 CRM 打开控制台', 'signin.body': '控制台需要 CRM 提供的登录凭证。请回到 CRM，点击“小程序渠道”重新打开。',
  loading: '加载中…', error: '出错了', fix: '解决办法', 'err.code': '错误码', 'err.request': '请求编号',
  'err.network': '无法连接服务器，请检查网络后重试。', 'err.status': '请求失败（HTTP {status}）',
  'err.reopen': '登录已过期：请从 CRM 重新打开控制台。',
  yes: '是', no: '否', cancel: '取消', save: '保存', reload: '重新加载', refresh: '刷新', remove: '移除',
  'ch.mp': '微信小程序', 'ch.mode': '当前模式', 'ch.mode.enterprise': '企业专属小程序', 'ch.mode.public': '平台公共小程序',
  'ch.public.explain': '客户目前通过平台的公共小程序扫码进入您的服务门户。升级后，客户将使用贵公司自己的小程序。',
  'ch.logo': '{name} 的图标', 'ch.name': '名称', 'ch.entity': '主体', 'ch.certified': '已认证', 'ch.categories': '服务类目',
  'ch.permissions': '权限集', 'ch.bound_at': '绑定时间', 'ch.tokens': '令牌状态', 'ch.tokens.ok': '正常', 'ch.tokens.reauth': '需要重新授权',
  'ch.tokens.none': '尚无令牌', 'ch.tokens.expires': '（{at} 前自动刷新）',
  'ch.unbind': '解除绑定', 'ch.unbind.confirm': '确定要解除“{name}”的绑定吗？其用户的登录会话将立即失效，客户需要重新扫码进入。',
  'ch.unbound': '已解除绑定。', 'ch.history': '曾绑定：{name}（{appid}），解除原因：{reason}',
  'ch.last_error': '上次授权失败', 'ch.upgrade': '升级为企业专属小程序', 'ch.reauth': '重新授权',
  'ch.upgrade.explain': '使用贵公司已认证的微信小程序：由小程序管理员扫码授权给本平台，我们负责开发配置、提交审核与发布。',
  'ch.reauth.explain': '微信已不再接受本平台对该小程序的访问。请小程序管理员重新扫码授权。',
  'ch.start.computer': '在电脑上', 'ch.start.phone': '在手机上', 'ch.start.pc': '打开授权页面',
  'ch.start.pc.explain': '在新标签页打开授权页，点击“显示二维码”，用小程序管理员的微信扫码并确认。',
  'ch.start.qr': '授权链接二维码', 'ch.start.qr.explain': '用微信扫描此二维码，在微信中点击“在微信中授权”。',
  'ch.start.mobile': '已在手机上？直接打开', 'ch.start.expires': '链接在 {at} 前有效。完成授权后回到本页，结果会自动显示。',
  'ch.connected': '已连接小程序“{name}”。', 'ch.not_connected': '授权未完成，请查看下方原因和解决办法。',
  'ch.oa': '微信公众号', 'ch.oa.none': '尚未连接公众号。连接后可复用公众号主体快速注册小程序。', 'ch.oa.connect': '连接公众号',
  'ch.open': '同主体绑定（用户互通）', 'ch.open.explain': '把小程序和公众号绑定到同一个开放平台账号，同一客户在两边是同一个人。两者都需先连接。', 'ch.open.shared': '已绑定到开放平台账号 {id}：',
  'ch.open.start': '绑定到同一开放平台账号', 'ch.open.done': '已完成同主体绑定。', 'ch.open.stop': '解除同主体绑定', 'ch.open.stop.confirm': '确定解除小程序和公众号与开放平台账号的绑定吗？',
  'ch.oa.disconnect': '断开公众号', 'ch.oa.disconnect.confirm': '确定要断开公众号“{name}”吗？',
  'ch.fr': '没有小程序？快速注册', 'ch.fr.intro': '两种方式：复用已认证公众号的主体资质（无需重新提交材料），或以企业信息注册（法人微信人脸核验）。',
  'ch.fr.bound': '已绑定企业小程序，无需注册。', 'ch.fr.status': '注册进度', 'ch.fr.wechat': '微信状态：',
  'ch.fr.oa': '复用公众号资质注册', 'ch.fr.oa.explain': '需先连接已认证的公众号；由公众号管理员在微信确认页确认。',
  'ch.fr.oa.start': '获取确认链接', 'ch.fr.oa.open': '打开微信确认页',
  'ch.fr.ent': '以企业信息注册', 'ch.fr.name': '企业名称', 'ch.fr.code': '统一社会信用代码（18 位）', 'ch.fr.legal_persona_name': '法人姓名',
  'ch.fr.legal_persona_wechat': '法人微信号', 'ch.fr.component_phone': '联系电话', 'ch.fr.ent.submit': '提交注册', 'ch.fr.sent': '已提交，请法人在 24 小时内在微信中完成核验。',
  'rel.versions': '版本', 'rel.new_version': '有新版本 {version} 可提交审核。', 'rel.release_pending': '已有通过审核的版本等待发布。',
  'rel.public_mode': '尚未绑定企业小程序：以下为平台模板版本。', 'rel.template': '模板', 'rel.version': '版本', 'rel.desc': '说明', 'rel.created': '创建时间', 'rel.latest': '最新',
  'rel.prepare': '发布前准备', 'rel.prepare.explain': '设置服务类目、申请位置接口、隐私设置、服务器域名与通知模板。可重复执行，只补做缺失的步骤。',
  'rel.prepare.run': '执行准备', 'rel.prepare.show': '查看配置', 'rel.review': '审核与发布', 'rel.state': '状态', 'rel.released': '线上版本', 'rel.audit': '审核单号', 'rel.submitted': '提交时间',
  'rel.reason': '微信驳回原因', 'rel.reason.fix': '按原因修改后重新提交审核。', 'rel.submit': '提交审核', 'rel.resubmit': '重新提交审核',
  'rel.release': '发布', 'rel.release.confirm': '确定发布审核通过的版本吗？发布后所有用户将使用新版本。',
  'rel.undo': '撤回审核', 'rel.undo.confirm': '确定撤回正在进行的审核吗？每月撤回次数有限。',
  'rel.rollback': '回退到上一版本', 'rel.rollback.confirm': '确定将线上版本回退到上一个发布的版本吗？', 'rel.speedup': '申请加急审核',
  'rel.done.submit_for_review': '已提交审核。', 'rel.done.release': '已发布。', 'rel.done.undo_review': '已撤回审核。', 'rel.done.rollback': '已回退。',
  'rel.done.speed_up_review': '已申请加急。', 'rel.quota': '审核额度（本月，平台共享）', 'rel.quota.line': '提交审核剩余 {rest}/{limit}，加急剩余 {srest}/{slimit}',
  'rel.speedup.offered': '审核较慢，可申请加急。', 'rel.speedup.reason.no_review_pending': '没有进行中的审核。', 'rel.speedup.reason.already_sped_up': '本次审核已加急。',
  'rel.speedup.reason.not_slow_yet': '审核提交未满 24 小时，暂不可加急。', 'rel.speedup.reason.no_speedup_quota': '本月加急额度已用完。', 'rel.speedup.reason.quota_unknown': '暂时无法查询加急额度。',
  'rel.shots': '驳回截图', 'rel.shots.none': '微信未提供截图。', 'rel.shot': '驳回截图 {n}', 'rel.shot.missing': '无法显示此截图。',
  'rel.qr': '二维码', 'rel.qr.tenant': '门户二维码', 'rel.qr.trial': '体验版二维码', 'rel.qr.sn': '设备序列号', 'rel.qr.device': '设备二维码',
  'rel.qr.download': '下载二维码', 'rel.qr.batch': '批量导出（设备序列号，每行一个，最多 100 个）', 'rel.qr.batch.hint': '导出 ZIP：每台设备一张带序列号的二维码图片和清单 manifest.csv。',
  'rel.qr.export': '批量导出', 'rel.qr.exported': '已导出 {n} 个设备的二维码。',
  'rel.qr.alt.tenant': '门户二维码', 'rel.qr.alt.trial': '体验版二维码', 'rel.qr.alt.device': '设备二维码',
  'rel.qr.kind.trial': '体验版', 'rel.qr.kind.release': '正式版', 'rel.qr.kind.public': '公共小程序',
  'rel.testers': '体验成员', 'rel.testers.id': '微信号', 'rel.testers.hint': '同事的微信号（我 → 微信号），需允许通过微信号搜索。', 'rel.testers.add': '添加体验成员',
  'rel.testers.added': '已添加体验成员 {id}。', 'rel.testers.by': '添加人', 'rel.testers.at': '添加时间', 'rel.testers.none': '还没有体验成员。',
  'rel.testers.remove': '确定移除体验成员 {id} 吗？',
  'state.idle': '未提交', 'state.waiting_privacy_scan': '等待隐私检测', 'state.under_review': '审核中', 'state.review_delayed': '审核延迟', 'state.rejected': '审核未通过',
  'state.approved': '审核通过', 'state.released': '已发布', 'state.release_failed': '发布失败', 'state.submit_failed': '提交失败', 'state.withdrawn': '已撤回',
  'step.categories': '服务类目', 'step.location_privacy_interface': '位置接口（wx.getLocation）', 'step.privacy_settings': '隐私设置',
  'step.server_domains': '服务器域名', 'step.subscribe_templates': '订阅消息模板', 'step.ext_json': '小程序配置（ext.json）',
  'step.status.done': '已完成', 'step.status.under_review': '审核中', 'step.status.failed': '失败',
  'set.title': '门户访问', 'set.access': '客户如何进入', 'set.guest_access': '允许游客报修', 'set.invitation_codes': '允许邀请码注册',
  'set.serial_registration': '允许设备序列号注册', 'set.display_name': '门户显示名称', 'set.location': '位置', 'set.max_checkin_distance_m': '签到最大距离（米）',
  'set.location_reason': '位置权限用途说明', 'set.location_reason.hint': '用户授权定位时看到的说明。', 'set.release': '发布',
  'set.auto_release': '审核通过后自动发布', 'set.retire_public_qr': '停用公共小程序的旧二维码', 'set.fieldwork': '上门服务',
  'set.max_checkout_distance_m': '签退距离提醒（米）', 'set.max_checkins_per_day': '每人每天最多签到次数', 'set.auto_checkout_hours': '自动签退（小时）',
  'set.mileage_rate_fen_per_km': '里程补贴（分/公里）', 'set.time_zone': '时区', 'set.dispatch': '派单', 'set.engineers_may_transfer': '允许工程师转单',
  'set.sla_hours': '各类工单时限（小时）', 'set.sla_hours.hint': '每行一个，如 repair=8', 'set.range': '{min}–{max}',
  'set.version': '版本 {v}', 'set.saved': '已保存（版本 {v}）。', 'set.reload_latest': '加载最新设置',
  'inv.title': '邀请码', 'inv.customer': '客户编号', 'inv.uses.max': '可用次数', 'inv.days': '有效天数', 'inv.create': '生成邀请码',
  'inv.created': '已生成邀请码 {code}。', 'inv.code': '邀请码', 'inv.uses': '已用', 'inv.expires': '过期时间', 'inv.revoke': '作废',
  'inv.revoke.confirm': '确定作废邀请码 {code} 吗？', 'inv.revoked': '已作废', 'inv.revoked.note': '邀请码 {code} 已作废。',
  'inv.note': '列表显示前 200 个邀请码；作废其他邀请码请输入邀请码。', 'inv.revoke.code': '要作废的邀请码',
  'reg.title': '注册审核', 'reg.none': '没有待审核的注册。', 'reg.sn': '序列号', 'reg.model': '型号', 'reg.address': '地址', 'reg.at': '申请时间',
  'reg.conflict': '冲突', 'reg.conflict.registered_to_another_user': '已登记在其他用户名下', 'reg.conflict.pending_for_another_user': '其他用户也在申请',
  'reg.approve': '通过', 'reg.reject': '拒绝', 'reg.reject.reason': '拒绝原因（用户可见）', 'reg.done.approve': '已通过 {sn} 的注册。', 'reg.done.reject': '已拒绝 {sn} 的注册。', 'reg.transfer': '将设备 {sn} 转给此用户并通过',
  'ops.sections': '运营分区', 'ops.desk': '工单台', 'ops.engineers': '工程师', 'ops.mileage': '里程报表', 'ops.devices': '设备', 'ops.crm': 'CRM 对接与推送', 'ops.notify': '客户通知',
  'ops.any': '全部', 'ops.status': '状态', 'ops.category': '类别', 'ops.overdue_first': '只看超时（最久的在前）', 'ops.filter': '筛选',
  'ops.none': '没有符合条件的工单。', 'ops.none_overdue': '没有超时的工单。', 'ops.order': '工单号', 'ops.priority': '优先级', 'ops.due': '截止时间',
  'ops.engineer': '工程师', 'ops.customer': '客户', 'ops.assign': '派单', 'ops.assign_to': '派工单 {id} 给', 'ops.assigned': '已派单 {id}。', 'ops.overdue': '超时',
  'ops.eng.edit': '添加或修改工程师', 'ops.eng.id': '工程师编号', 'ops.eng.id.hint': 'CRM 员工令牌中的用户编号。', 'ops.eng.name': '姓名', 'ops.eng.phone': '手机号',
  'ops.eng.skills': '技能（工单类别）', 'ops.eng.skills.hint': '用逗号分隔，如 repair, maintenance', 'ops.eng.active': '在岗', 'ops.eng.saved': '已保存工程师 {name}。',
  'ops.eng.none': '名录中还没有工程师。', 'ops.eng.edit_one': '修改',
  'ops.from': '从', 'ops.to': '到', 'ops.show': '查看', 'ops.csv': '导出 CSV', 'ops.km': '公里', 'ops.amount': '金额（元）', 'ops.flagged': '待核查',
  'ops.mileage.total': '合计 {km} 公里，{yuan} 元，{flagged} 项待核查（时区 {tz}）', 'ops.mileage.none': '此期间没有里程。',
  'ops.dev.search': '序列号开头', 'ops.dev.none': '没有已登记的设备。', 'ops.dev.approved': '登记时间', 'ops.dev.pending': '待审核注册',
  'ops.dev.qr': '设备二维码和批量导出在“发布”页的二维码部分。',
  'ops.hook.url': '推送地址（HTTPS）', 'ops.hook.enabled': '启用推送', 'ops.hook.rotate': '更换签名密钥', 'ops.hook.secret': '当前密钥结尾 {hint}；旧密钥在更换后 24 小时内仍有效。',
  'ops.hook.new': '保存后生成密钥，只显示一次。', 'ops.hook.test': '发送测试事件', 'ops.hook.tested': '测试事件已发送（{status}）。', 'ops.hook.saved': '推送设置已保存。',
  'ops.hook.once': '新密钥（只显示这一次，请交给 CRM）：',
  'ops.del.counts': '已入队 {enqueued}，已送达 {delivered}，死信 {dead}，待送 {backlog}', 'ops.del.last': '上次成功 {at}；连续失败 {failures} 次',
  'ops.del.failure': '上次失败 {at}：{error}', 'ops.del.event': '事件', 'ops.del.type': '类型', 'ops.del.attempts': '尝试次数',
  'ops.del.replay': '重新推送死信', 'ops.del.replayed': '死信已重新排队。', 'ops.del.no_dead': '没有死信。', 'ops.del.replay_period': '重新推送一段时间的事件', 'ops.del.replayed_period': '已重新排队 {n} 个事件。', 'ops.dev.export': '导出以上 {n} 台设备的二维码',
  'ops.notify.kinds': '发送的通知', 'ops.notify.saved': '通知设置已保存。', 'ops.notify.stats': '发送统计', 'ops.notify.none': '还没有发送记录。',
  'ops.notify.problem': '最近的配置问题', 'ops.notify.missing.enterprise': '企业小程序缺少模板：', 'ops.notify.missing.public': '公共小程序缺少模板：',
  'wo.submitted': '已提交', 'wo.assigned': '已派单', 'wo.accepted': '已接单', 'wo.en_route': '在路上', 'wo.in_progress': '服务中', 'wo.on_hold': '暂停',
  'wo.cannot_complete': '无法完成', 'wo.completed': '已完成', 'wo.cancelled': '已取消',
  'prio.urgent': '紧急', 'prio.high': '高', 'prio.normal': '普通', 'prio.low': '低',
  'fix.version_conflict': '点击“加载最新设置”，重新修改后再保存。', 'fix.webhook_changed': '重新加载本页，再修改推送设置。',
  'fix.engineer_changed': '重新加载工程师名录后再修改。', 'fix.work_order_changed': '工单刚被他人修改：刷新工单台后再操作。',
  'fix.registration_changed': '用户刚重新提交了注册：刷新列表后再审核。', 'fix.forbidden': '请使用管理员账号从 CRM 打开控制台。',
};

const en = {
  title: 'Mini Program channel console', skip: 'Skip to the main content', nav: 'Main navigation',
  'nav.channel': 'Channel', 'nav.release': 'Release', 'nav.settings': 'Portal settings', 'nav.operations': 'Operations',
  'signin.title': 'Open the console from the CRM', 'signin.body': 'The console needs the sign-in the CRM hands it. Go back to the CRM and open "Mini Program channel" again.',
  loading: 'Loading…', error: 'Error', fix: 'Fix', 'err.code': 'Code', 'err.request': 'request',
  'err.network': 'The server could not be reached; check the network and try again.', 'err.status': 'The request failed (HTTP {status})',
  'err.reopen': 'Your sign-in expired: open the console again from the CRM.',
  yes: 'Yes', no: 'No', cancel: 'Cancel', save: 'Save', reload: 'Reload', refresh: 'Refresh', remove: 'Remove',
  'ch.mp': 'WeChat Mini Program', 'ch.mode': 'Mode', 'ch.mode.enterprise': 'Enterprise mini program', 'ch.mode.public': 'Public mini program',
  'ch.public.explain': "Customers reach your portal by scanning your QR codes in the platform's public mini program. After the upgrade they use your company's own mini program.",
  'ch.logo': 'Logo of {name}', 'ch.name': 'Name', 'ch.entity': 'Entity', 'ch.certified': 'Certified', 'ch.categories': 'Categories',
  'ch.permissions': 'Permission sets', 'ch.bound_at': 'Connected', 'ch.tokens': 'Token health', 'ch.tokens.ok': 'Healthy', 'ch.tokens.reauth': 'Needs authorization again',
  'ch.tokens.none': 'No token yet', 'ch.tokens.expires': '(refreshed before {at})',
  'ch.unbind': 'Unbind', 'ch.unbind.confirm': 'Unbind "{name}"? Its users are signed out at once and must scan again.',
  'ch.unbound': 'Unbound.', 'ch.history': 'Previously connected: {name} ({appid}), unbound because: {reason}',
  'ch.last_error': 'Last authorization failed', 'ch.upgrade': 'Upgrade to an enterprise mini program', 'ch.reauth': 'Authorize again',
  'ch.upgrade.explain': "Use your company's certified WeChat mini program: its administrator scans to authorize our platform, and we configure, submit and release it.",
  'ch.reauth.explain': "WeChat no longer accepts the platform's access to this mini program. Its administrator must scan to authorize again.",
  'ch.start.computer': 'On this computer', 'ch.start.phone': 'On a phone', 'ch.start.pc': 'Open the authorization page',
  'ch.start.pc.explain': "Opens in a new tab: click \"Show the QR code\" and scan it with the mini program administrator's WeChat, then confirm.",
  'ch.start.qr': 'QR code of the authorization link', 'ch.start.qr.explain': 'Scan this code with WeChat, then tap "Authorize in WeChat".',
  'ch.start.mobile': 'Already on the phone? Open it here', 'ch.start.expires': 'The link works until {at}. Come back to this page when done: the result shows here.',
  'ch.connected': 'Connected the mini program "{name}".', 'ch.not_connected': 'The authorization did not finish: see the reason and its fix below.',
  'ch.oa': 'WeChat Official Account', 'ch.oa.none': "No official account connected. Once connected, a mini program can be registered with its company's qualification.", 'ch.oa.connect': 'Connect the official account',
  'ch.open': 'Shared users (same entity)', 'ch.open.explain': 'Binds the mini program and the official account to one open platform account, so a customer is one person in both. Both must be connected first.', 'ch.open.shared': 'Bound to the open platform account {id}:',
  'ch.open.start': 'Bind both to one open platform account', 'ch.open.done': 'Both accounts share their users now.', 'ch.open.stop': 'Stop sharing', 'ch.open.stop.confirm': 'Unbind the mini program and the official account from the open platform account?',
  'ch.oa.disconnect': 'Disconnect', 'ch.oa.disconnect.confirm': 'Disconnect the official account "{name}"?',
  'ch.fr': 'No mini program yet? Quick registration', 'ch.fr.intro': "Two ways: reuse a certified official account's qualification (no documents again), or register with the company's details (the legal representative verifies in WeChat).",
  'ch.fr.bound': 'An enterprise mini program is connected: nothing to register.', 'ch.fr.status': 'Registration', 'ch.fr.wechat': 'WeChat says:',
  'ch.fr.oa': "With the official account's qualification", 'ch.fr.oa.explain': "Connect a certified official account first; its administrator confirms on WeChat's page.",
  'ch.fr.oa.start': 'Get the confirmation link', 'ch.fr.oa.open': "Open WeChat's confirmation page",
  'ch.fr.ent': "With the company's details", 'ch.fr.name': 'Company name', 'ch.fr.code': 'Unified social credit code (18 characters)', 'ch.fr.legal_persona_name': "Legal representative's name",
  'ch.fr.legal_persona_wechat': "Legal representative's WeChat ID", 'ch.fr.component_phone': 'Contact phone', 'ch.fr.ent.submit': 'Register', 'ch.fr.sent': 'Sent: the legal representative has 24 hours to confirm in WeChat.',
  'rel.versions': 'Versions', 'rel.new_version': 'A new version {version} can be submitted for review.', 'rel.release_pending': 'An approved version is waiting to be released.',
  'rel.public_mode': "No enterprise mini program is connected: these are the platform's templates.", 'rel.template': 'Template', 'rel.version': 'Version', 'rel.desc': 'Description', 'rel.created': 'Created', 'rel.latest': 'latest',
  'rel.prepare': 'Preparation', 'rel.prepare.explain': 'Sets the service categories, applies for the location interface, the privacy settings, server domains and notification templates. Running it again does only what is missing.',
  'rel.prepare.run': 'Prepare', 'rel.prepare.show': 'Show the configuration', 'rel.review': 'Review and release', 'rel.state': 'State', 'rel.released': 'Released', 'rel.audit': 'Audit id', 'rel.submitted': 'Submitted',
  'rel.reason': "WeChat's rejection reason", 'rel.reason.fix': 'Fix what the reason says, then submit again.', 'rel.submit': 'Submit for review', 'rel.resubmit': 'Submit again',
  'rel.release': 'Release', 'rel.release.confirm': 'Release the approved version? Every user gets it.',
  'rel.undo': 'Withdraw the review', 'rel.undo.confirm': 'Withdraw the pending review? Withdrawals per month are limited.',
  'rel.rollback': 'Roll back', 'rel.rollback.confirm': 'Roll the live version back to the previous release?', 'rel.speedup': 'Ask for a faster review',
  'rel.done.submit_for_review': 'Submitted for review.', 'rel.done.release': 'Released.', 'rel.done.undo_review': 'Review withdrawn.', 'rel.done.rollback': 'Rolled back.',
  'rel.done.speed_up_review': 'Faster review requested.', 'rel.quota': "Review quota (this month, the platform's)", 'rel.quota.line': 'Submissions left {rest}/{limit}, speed-ups left {srest}/{slimit}',
  'rel.speedup.offered': 'The review is slow: a faster review can be requested.', 'rel.speedup.reason.no_review_pending': 'No review is pending.', 'rel.speedup.reason.already_sped_up': 'This review was sped up already.',
  'rel.speedup.reason.not_slow_yet': 'A review can be sped up 24 hours after submission.', 'rel.speedup.reason.no_speedup_quota': "This month's speed-ups are used up.", 'rel.speedup.reason.quota_unknown': 'The speed-up quota cannot be read right now.',
  'rel.shots': 'Rejection screenshots', 'rel.shots.none': 'WeChat sent no screenshots.', 'rel.shot': 'Rejection screenshot {n}', 'rel.shot.missing': 'This screenshot cannot be shown.',
  'rel.qr': 'QR codes', 'rel.qr.tenant': 'Portal QR code', 'rel.qr.trial': 'Trial QR code', 'rel.qr.sn': 'Device serial number', 'rel.qr.device': 'Device QR code',
  'rel.qr.download': 'Download the QR code', 'rel.qr.batch': 'Batch export (serial numbers, one a line, up to 100)', 'rel.qr.batch.hint': 'A zip: one sticker per device with its number, and manifest.csv.',
  'rel.qr.export': 'Export', 'rel.qr.exported': 'Exported the QR codes of {n} devices.',
  'rel.qr.alt.tenant': 'Portal QR code', 'rel.qr.alt.trial': 'Trial QR code', 'rel.qr.alt.device': 'Device QR code',
  'rel.qr.kind.trial': 'trial version', 'rel.qr.kind.release': 'released version', 'rel.qr.kind.public': 'public mini program',
  'rel.testers': 'Trial testers', 'rel.testers.id': 'WeChat ID', 'rel.testers.hint': "A colleague's WeChat ID (Me, under the name); they must allow being found by it.", 'rel.testers.add': 'Add a tester',
  'rel.testers.added': 'Added the tester {id}.', 'rel.testers.by': 'Added by', 'rel.testers.at': 'Added', 'rel.testers.none': 'No trial testers yet.',
  'rel.testers.remove': 'Remove the tester {id}?',
  'state.idle': 'not submitted', 'state.waiting_privacy_scan': 'waiting for the privacy scan', 'state.under_review': 'under review', 'state.review_delayed': 'review delayed', 'state.rejected': 'rejected',
  'state.approved': 'approved', 'state.released': 'released', 'state.release_failed': 'release failed', 'state.submit_failed': 'submission failed', 'state.withdrawn': 'withdrawn',
  'step.categories': 'Service categories', 'step.location_privacy_interface': 'Location interface (wx.getLocation)', 'step.privacy_settings': 'Privacy settings',
  'step.server_domains': 'Server domains', 'step.subscribe_templates': 'Notification templates', 'step.ext_json': 'Mini program configuration (ext.json)',
  'step.status.done': 'done', 'step.status.under_review': 'under review', 'step.status.failed': 'failed',
  'set.title': 'Portal access', 'set.access': 'How customers get in', 'set.guest_access': 'Guests may ask for service', 'set.invitation_codes': 'Registration with an invitation code',
  'set.serial_registration': 'Registration with a serial number', 'set.display_name': "Portal's display name", 'set.location': 'Location', 'set.max_checkin_distance_m': 'Check-in distance (m)',
  'set.location_reason': 'Why the location is needed', 'set.location_reason.hint': 'What users read when asked for their location.', 'set.release': 'Release',
  'set.auto_release': 'Release as soon as approved', 'set.retire_public_qr': "Retire the public mini program's QR codes", 'set.fieldwork': 'Field work',
  'set.max_checkout_distance_m': 'Check-out distance flagged beyond (m)', 'set.max_checkins_per_day': 'Check-ins per engineer and day', 'set.auto_checkout_hours': 'Automatic check-out (hours)',
  'set.mileage_rate_fen_per_km': 'Mileage rate (fen per km)', 'set.time_zone': 'Time zone', 'set.dispatch': 'Dispatch', 'set.engineers_may_transfer': 'Engineers may transfer orders',
  'set.sla_hours': 'Hours to complete, per category', 'set.sla_hours.hint': 'One a line, e.g. repair=8', 'set.range': '{min}–{max}',
  'set.version': 'Version {v}', 'set.saved': 'Saved (version {v}).', 'set.reload_latest': 'Load the latest settings',
  'inv.title': 'Invitation codes', 'inv.customer': 'Customer id', 'inv.uses.max': 'Uses', 'inv.days': 'Valid for (days)', 'inv.create': 'Create a code',
  'inv.created': 'Created the code {code}.', 'inv.code': 'Code', 'inv.uses': 'Used', 'inv.expires': 'Expires', 'inv.revoke': 'Revoke',
  'inv.revoke.confirm': 'Revoke the code {code}?', 'inv.revoked': 'revoked', 'inv.revoked.note': 'The code {code} is revoked.',
  'inv.note': 'The list shows the first 200 codes; to revoke another, type it.', 'inv.revoke.code': 'Code to revoke',
  'reg.title': 'Registrations to review', 'reg.none': 'No registrations waiting.', 'reg.sn': 'Serial number', 'reg.model': 'Model', 'reg.address': 'Address', 'reg.at': 'Asked',
  'reg.conflict': 'Conflict', 'reg.conflict.registered_to_another_user': 'registered to another user', 'reg.conflict.pending_for_another_user': 'another user asked too',
  'reg.approve': 'Approve', 'reg.reject': 'Reject', 'reg.reject.reason': 'Reason (the user reads it)', 'reg.done.approve': 'Approved the registration of {sn}.', 'reg.done.reject': 'Rejected the registration of {sn}.', 'reg.transfer': 'Move the device {sn} to this user and approve',
  'ops.sections': 'Operations sections', 'ops.desk': 'Work-order desk', 'ops.engineers': 'Engineers', 'ops.mileage': 'Mileage report', 'ops.devices': 'Devices', 'ops.crm': 'CRM connection', 'ops.notify': 'Customer notifications',
  'ops.any': 'Any', 'ops.status': 'Status', 'ops.category': 'Category', 'ops.overdue_first': 'Overdue only (most overdue first)', 'ops.filter': 'Filter',
  'ops.none': 'No work orders match.', 'ops.none_overdue': 'No work order is overdue.', 'ops.order': 'Order', 'ops.priority': 'Priority', 'ops.due': 'Due',
  'ops.engineer': 'Engineer', 'ops.customer': 'Customer', 'ops.assign': 'Assign', 'ops.assign_to': 'Assign order {id} to', 'ops.assigned': 'Assigned {id}.', 'ops.overdue': 'overdue',
  'ops.eng.edit': 'Add or change an engineer', 'ops.eng.id': 'Engineer id', 'ops.eng.id.hint': "The user id in the CRM's staff token.", 'ops.eng.name': 'Name', 'ops.eng.phone': 'Mobile',
  'ops.eng.skills': 'Skills (order categories)', 'ops.eng.skills.hint': 'Comma-separated, e.g. repair, maintenance', 'ops.eng.active': 'Active', 'ops.eng.saved': 'Saved the engineer {name}.',
  'ops.eng.none': 'The directory has no engineer yet.', 'ops.eng.edit_one': 'Change',
  'ops.from': 'From', 'ops.to': 'To', 'ops.show': 'Show', 'ops.csv': 'Export CSV', 'ops.km': 'km', 'ops.amount': 'Amount (CNY)', 'ops.flagged': 'To check',
  'ops.mileage.total': 'Total {km} km, {yuan} CNY, {flagged} to check (time zone {tz})', 'ops.mileage.none': 'No mileage in this period.',
  'ops.dev.search': 'Serial number starts with', 'ops.dev.none': 'No registered devices.', 'ops.dev.approved': 'Registered', 'ops.dev.pending': 'Pending registrations',
  'ops.dev.qr': 'Device QR codes and the batch export are on the Release page, under QR codes.',
  'ops.hook.url': 'Webhook URL (HTTPS)', 'ops.hook.enabled': 'Deliver events', 'ops.hook.rotate': 'Rotate the signing secret', 'ops.hook.secret': 'The secret ends in {hint}; a replaced one keeps signing for 24 hours.',
  'ops.hook.new': 'A secret is generated on saving and shown once.', 'ops.hook.test': 'Send a test event', 'ops.hook.tested': 'Test event sent ({status}).', 'ops.hook.saved': 'Webhook saved.',
  'ops.hook.once': 'The new secret (shown this once; give it to the CRM):',
  'ops.del.counts': 'Queued {enqueued}, delivered {delivered}, dead letters {dead}, backlog {backlog}', 'ops.del.last': 'Last success {at}; {failures} failures in a row',
  'ops.del.failure': 'Last failure {at}: {error}', 'ops.del.event': 'Event', 'ops.del.type': 'Type', 'ops.del.attempts': 'Attempts',
  'ops.del.replay': 'Replay the dead letters', 'ops.del.replayed': 'Dead letters queued again.', 'ops.del.no_dead': 'No dead letters.', 'ops.del.replay_period': 'Replay the events of a period', 'ops.del.replayed_period': 'Queued {n} events again.', 'ops.dev.export': 'Export the QR codes of these {n} devices',
  'ops.notify.kinds': 'Notifications sent', 'ops.notify.saved': 'Notification settings saved.', 'ops.notify.stats': 'Statistics', 'ops.notify.none': 'Nothing sent yet.',
  'ops.notify.problem': 'Last configuration problem', 'ops.notify.missing.enterprise': "The enterprise mini program lacks templates:", 'ops.notify.missing.public': 'The public mini program lacks templates:',
  'wo.submitted': 'submitted', 'wo.assigned': 'assigned', 'wo.accepted': 'accepted', 'wo.en_route': 'en route', 'wo.in_progress': 'in progress', 'wo.on_hold': 'on hold',
  'wo.cannot_complete': 'cannot complete', 'wo.completed': 'completed', 'wo.cancelled': 'cancelled',
  'prio.urgent': 'urgent', 'prio.high': 'high', 'prio.normal': 'normal', 'prio.low': 'low',
  'fix.version_conflict': 'Click "Load the latest settings", make your change again and save.', 'fix.webhook_changed': 'Reload the page, then change the webhook.',
  'fix.engineer_changed': 'Reload the directory, then make the change.', 'fix.work_order_changed': 'Someone changed the order meanwhile: refresh the desk and try again.',
  'fix.registration_changed': 'The user submitted the registration again: refresh the list and review it again.', 'fix.forbidden': "Open the console from the CRM with an admin's account.",
};

const tables = { zh, en };

// has says whether key has a text (fixes the console adds to errors whose
// answer carries none).
export function has(key) {
  return key in zh;
}

export function lang() {
  const l = localStorage.getItem(langKey);
  return l === 'en' ? 'en' : 'zh';
}

export function setLang(l) {
  localStorage.setItem(langKey, l);
}

// t is the text of key in the chosen language, with {name} replaced from
// vars; a key missing in English falls back to Chinese, then to the key.
export function t(key, vars) {
  const text = tables[lang()][key] ?? zh[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

// applyStatic translates the page's fixed parts (data-i18n) and names the
// language for assistive technology.
export function applyStatic() {
  const l = lang();
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const sw = document.getElementById('lang');
  sw.textContent = l === 'zh' ? 'English' : '中文';
  sw.lang = l === 'zh' ? 'en' : 'zh-CN';
  sw.setAttribute('aria-label', l === 'zh' ? 'Switch to English' : '切换到中文');
}

// keys lists every key of both tables (the tests hold them equal).
export const keys = { zh: Object.keys(zh), en: Object.keys(en) };
