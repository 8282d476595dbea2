package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
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
// from the bound mini program it names, and an audit result moves the
// pipeline only if it belongs to the review the pipeline waits for. The
// same push twice is harmless without a record of it: the first one moves
// the pipeline out of the waiting state (a repeat finds nothing to do),
// and two at once race on the pipeline's revision, which lets one save.
// The binding and the pipeline share the mini program's partition and are
// read together. A failure to apply it is left to the reconcile schedule;
// WeChat only needs "success".
func (s *Service) AuditPushed(ctx context.Context, appid string, ev AuditEvent) error {
	b, p, err := s.bindingAndPipeline(ctx, appid)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && b.UserName != ev.ToUserName) {
		return apperr.E(apperr.Forbidden, "unknown_mini_program", "the event does not belong to a bound mini program")
	}
	if err != nil {
		return err
	}
	status, isAudit := auditResults[ev.Event]
	if !isAudit {
		return nil
	}
	if !p.awaitsPush(time.Unix(ev.CreateTime, 0)) {
		// A repeat, a late push of an earlier review, or one whose result
		// we already have: the reconcile schedule follows the current one.
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

// bindingAndPipeline reads a mini program's binding record and its
// pipeline (idle when none) in one consistent BatchGetItem; a mini program
// never bound is storage.ErrNotFound.
func (s *Service) bindingAndPipeline(ctx context.Context, appid string) (binding.Binding, Pipeline, error) {
	pk := pipelinePK(appid)
	b, found := binding.Binding{}, false
	p := Pipeline{PK: pk, SK: skPipeline, AppID: appid, State: StateIdle}
	it := s.table.Batch("pk", "sk").Get(dynamo.Keys{pk, binding.SK}, dynamo.Keys{pk, skPipeline}).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		if sk, _ := item["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == binding.SK {
			err, found = dynamo.UnmarshalItem(item, &b), true
		} else {
			err = dynamo.UnmarshalItem(item, &p)
		}
		if err != nil {
			return b, p, fmt.Errorf("read binding and pipeline: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: neither item exists
		return b, p, fmt.Errorf("read binding and pipeline: %w", err)
	}
	if !found {
		return b, p, storage.ErrNotFound
	}
	return b, p, nil
}
