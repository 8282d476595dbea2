package release

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/authorization"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

type auditEvent struct {
	ToUserName string `xml:"ToUserName"`
	MsgType    string `xml:"MsgType"`
	Event      string `xml:"Event"`
	Reason     string `xml:"Reason"`
	ScreenShot string `xml:"ScreenShot"`
	CreateTime int64  `xml:"CreateTime"`
}

// NewEventsHandler builds the wechatevents function's handler: WeChat's
// message and event URL for authorized mini programs (audit results).
func NewEventsHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	svc := NewService(d)
	opener := componentpush.NewOpener(d.Secrets, d.Config.ComponentAppID, d.Now)
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("POST /wechat/events/{appid}", func(w http.ResponseWriter, r *http.Request) error {
		inner, params, err := opener.Open(r)
		if err != nil {
			return err
		}
		var ev auditEvent
		if err := xml.Unmarshal(inner, &ev); err != nil {
			return apperr.BadRequest("malformed_push", "the decrypted event is not valid XML")
		}
		ctx := r.Context()
		appid := r.PathValue("appid")
		b, err := svc.bindings.BindingByAppID(ctx, appid)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && b.UserName != ev.ToUserName) {
			return apperr.E(apperr.Forbidden, "unknown_mini_program", "the event does not belong to a bound mini program")
		}
		if err != nil {
			return err
		}
		// The same push delivered twice is processed once.
		err = d.DB.Platform.Put(struct {
			PK  string `dynamo:"pk,hash"`
			SK  string `dynamo:"sk,range"`
			TTL int64  `dynamo:"ttl"`
		}{componentpush.Fingerprint(params), "push", d.Now().Add(componentpush.MaxSkew * 2).Unix()}).If("attribute_not_exists('pk')").Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			return reply(w)
		}
		if err != nil {
			return err
		}
		p, err := svc.Get(ctx, appid)
		if err != nil {
			return err
		}
		status := wechat.AuditState(-1)
		switch ev.Event {
		case "weapp_audit_success":
			status = wechat.AuditApproved
		case "weapp_audit_fail":
			status = wechat.AuditRejected
		case "weapp_audit_delay":
			status = wechat.AuditDelayed
		}
		if status >= 0 && !p.awaitsPush(time.Unix(ev.CreateTime, 0)) {
			// A late push of an earlier review, or one whose result we
			// already have: the reconcile schedule follows the current one.
			d.Log.InfoContext(ctx, "audit push for another review ignored", "appid", appid, "event", ev.Event, "state", p.State)
			return reply(w)
		}
		if status >= 0 && p.TenantID != "" {
			if _, err := svc.applyStatus(ctx, p, wechat.AuditStatus{AuditID: p.AuditID, Status: status, Reason: ev.Reason, ScreenShot: ev.ScreenShot}); err != nil {
				d.Log.WarnContext(ctx, "audit event left to the reconcile schedule", "appid", appid, "err", err.Error())
			}
		}
		return reply(w)
	})
	return rt, nil
}

func reply(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
	return nil
}

type reconcileJob struct {
	svc  *Service
	auth *authorization.Service
}

// NewReconcileJob builds the scheduled auditreconcile function: it follows
// every pipeline waiting on WeChat, for pushes that never came, and retries
// authorization events a push could not finish.
func NewReconcileJob(ctx context.Context, d *app.Deps) (app.Job, error) {
	return &reconcileJob{svc: NewService(d), auth: authorization.NewService(d)}, nil
}

// ReconcileSummary is what one run did.
type ReconcileSummary struct {
	Checked      int `json:"checked"`
	Changed      int `json:"changed"`
	Failed       int `json:"failed"`
	EventsDone   int `json:"events_done"`
	EventsFailed int `json:"events_failed"`
}

func (j *reconcileJob) Run(ctx context.Context) (any, error) {
	var sum ReconcileSummary
	var err error
	if sum.EventsDone, sum.EventsFailed, err = j.auth.RetryPending(ctx); err != nil {
		return sum, err
	}
	pending, err := j.svc.Pending(ctx)
	if err != nil {
		return sum, err
	}
	for _, p := range pending {
		sum.Checked++
		out, err := j.svc.Reconcile(ctx, p)
		if err != nil {
			sum.Failed++
			j.svc.d.Log.WarnContext(ctx, "reconcile failed", "appid", p.AppID, "err", err.Error())
			continue
		}
		if out.State != p.State {
			sum.Changed++
		}
	}
	return sum, nil
}
