package release

import (
	"context"
	"errors"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
	"wxchannel/shared/wxcrypt"
)

// AuditEvent is the decrypted audit-result push of an authorized mini
// program
// (https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/code-management/submitAudit.html).
type AuditEvent struct {
	ToUserName string `xml:"ToUserName"`
	MsgType    string `xml:"MsgType"`
	Event      string `xml:"Event"`
	Reason     string `xml:"Reason"`
	ScreenShot string `xml:"ScreenShot"`
	CreateTime int64  `xml:"CreateTime"`
}

// auditResults maps the audit push events to the review status they report.
var auditResults = map[string]wechat.AuditState{
	"weapp_audit_success": wechat.AuditApproved,
	"weapp_audit_fail":    wechat.AuditRejected,
	"weapp_audit_delay":   wechat.AuditDelayed,
}

// AuditPushed applies a verified push to appid's message URL: it must come
// from the bound mini program it names, the same push twice is handled
// once, and an audit result moves the pipeline only if it belongs to the
// review the pipeline waits for. A failure to apply it is left to the
// reconcile schedule; WeChat only needs "success".
func (s *Service) AuditPushed(ctx context.Context, appid string, params wxcrypt.PushParams, ev AuditEvent) error {
	b, err := s.bindings.ByAppID(ctx, appid)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && b.UserName != ev.ToUserName) {
		return apperr.E(apperr.Forbidden, "unknown_mini_program", "the event does not belong to a bound mini program")
	}
	if err != nil {
		return err
	}
	fresh, err := s.pushes.RecordPush(ctx, params, s.cfg.Now())
	if err != nil || !fresh {
		return err
	}
	p, err := s.Get(ctx, appid)
	if err != nil {
		return err
	}
	status, isAudit := auditResults[ev.Event]
	if !isAudit {
		return nil
	}
	if !p.awaitsPush(time.Unix(ev.CreateTime, 0)) {
		// A late push of an earlier review, or one whose result we
		// already have: the reconcile schedule follows the current one.
		s.cfg.Log.InfoContext(ctx, "audit push for another review ignored", "appid", appid, "event", ev.Event, "state", p.State)
		return nil
	}
	if p.TenantID != "" {
		result := wechat.AuditStatus{AuditID: p.AuditID, Status: status, Reason: ev.Reason, ScreenShot: ev.ScreenShot}
		if _, err := s.applyStatus(ctx, p, result); err != nil {
			s.cfg.Log.WarnContext(ctx, "audit event left to the reconcile schedule", "appid", appid, "err", err.Error())
		}
	}
	return nil
}
