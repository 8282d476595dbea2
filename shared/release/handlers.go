// Package release takes a bound mini program from code commit through WeChat
// review to release, and serves its QR codes.
package release

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/authorization"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
)

// Status is the admin's view of the pipeline.
type Status struct {
	Pipeline
	NextActions []Action `json:"next_actions"`
}

func statusOf(p Pipeline) Status { return Status{Pipeline: p, NextActions: p.NextActions()} }

// reviewSubmitHandler is the reviewsubmit function.
type reviewSubmitHandler struct {
	pipeline *Service
	staff    *staffauth.Verifier
}

// NewReviewSubmitHandler builds the reviewsubmit function's handler: commit
// the code template and submit it for review.
func NewReviewSubmitHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	h := &reviewSubmitHandler{pipeline: ServiceFromDeps(d, tokens.FromDeps(d)), staff: staff}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *reviewSubmitHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /admin/miniprogram/review", h.staff.Admin(h.handleSubmit))
	return rt
}

func (h *reviewSubmitHandler) handleSubmit(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req struct {
		TemplateID int64 `json:"template_id"`
		Manual     bool  `json:"manual"`
	}
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	p, err := h.pipeline.Submit(r.Context(), c.TenantID, req.TemplateID, req.Manual)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, statusOf(p))
	return nil
}

// adminHandler is the releaseadmin function: preparation, status,
// versions, release, undo, rollback, QR codes, and the release operations
// (testers, speed-up, rejection screenshots).
type adminHandler struct {
	pipeline    *Service
	staff       *staffauth.Verifier
	screenshots *ScreenshotStore
}

// NewAdminHandler builds the releaseadmin function's handler.
func NewAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	screenshots, err := NewScreenshotStore(d.Config)
	if err != nil {
		return nil, err
	}
	h := &adminHandler{pipeline: ServiceFromDeps(d, tokens.FromDeps(d)), staff: staff, screenshots: screenshots}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *adminHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /admin/miniprogram/prepare", h.staff.Admin(h.handlePrepare))
	rt.Handle("GET /admin/miniprogram/release-status", h.staff.Admin(h.handleStatus))
	rt.Handle("GET /admin/miniprogram/versions", h.staff.Admin(h.handleVersions))
	rt.Handle("POST /admin/miniprogram/release", h.staff.Admin(h.handleRelease))
	rt.Handle("POST /admin/miniprogram/undo-review", h.staff.Admin(h.handleUndoReview))
	rt.Handle("POST /admin/miniprogram/rollback", h.staff.Admin(h.handleRollback))
	rt.Handle("GET /admin/miniprogram/qrcode", h.staff.Admin(h.handleQRCode))
	rt.Handle("GET /admin/miniprogram/testers", h.staff.Admin(h.handleTesters))
	rt.Handle("POST /admin/miniprogram/testers", h.staff.Admin(h.handleAddTester))
	rt.Handle("DELETE /admin/miniprogram/testers/{userstr}", h.staff.Admin(h.handleRemoveTester))
	rt.Handle("POST /admin/miniprogram/speedup", h.staff.Admin(h.handleSpeedUp))
	rt.Handle("GET /admin/miniprogram/audit-screenshots", h.staff.Admin(h.handleAuditScreenshots))
	return rt
}

func (h *adminHandler) handlePrepare(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	steps, err := h.pipeline.Prepare(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, map[string]any{"steps": steps}, err)
}

func (h *adminHandler) handleStatus(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	st, err := h.pipeline.ReleaseStatus(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, st, err)
}

func (h *adminHandler) handleVersions(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	v, err := h.pipeline.Versions(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

func (h *adminHandler) handleRelease(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	p, err := h.pipeline.Release(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, statusOf(p), err)
}

func (h *adminHandler) handleUndoReview(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	p, err := h.pipeline.UndoReview(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, statusOf(p), err)
}

func (h *adminHandler) handleRollback(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	p, err := h.pipeline.Rollback(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, statusOf(p), err)
}

func (h *adminHandler) handleQRCode(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	q := r.URL.Query()
	switch q.Get("kind") {
	case "":
	case string(QRTrial):
		code, err := h.pipeline.TrialQRCode(r.Context(), c.TenantID)
		return httpapi.Reply(w, http.StatusOK, code, err)
	default:
		return apperr.InvalidField("kind", "trial, or none for the code users scan")
	}
	code, err := h.pipeline.QRCode(r.Context(), c.TenantID, q.Get("device_sn"))
	return httpapi.Reply(w, http.StatusOK, code, err)
}

func (h *adminHandler) handleTesters(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	testers, err := h.pipeline.Testers(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, map[string]any{"testers": testers}, err)
}

func (h *adminHandler) handleAddTester(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req struct {
		WeChatID string `json:"wechat_id"`
	}
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	t, err := h.pipeline.AddTester(r.Context(), c.TenantID, req.WeChatID, c.Subject)
	return httpapi.Reply(w, http.StatusCreated, t, err)
}

func (h *adminHandler) handleRemoveTester(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	if err := h.pipeline.RemoveTester(r.Context(), c.TenantID, r.PathValue("userstr")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handleSpeedUp(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	p, err := h.pipeline.SpeedUp(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, statusOf(p), err)
}

func (h *adminHandler) handleAuditScreenshots(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	shots, err := h.pipeline.AuditScreenshots(r.Context(), c.TenantID, h.screenshots)
	return httpapi.Reply(w, http.StatusOK, shots, err)
}

// eventsHandler is the wechatevents function: WeChat's message and event
// URL for authorized mini programs (audit results).
type eventsHandler struct {
	pipeline *Service
	opener   *componentpush.Opener
}

// NewEventsHandler builds the wechatevents function's handler.
func NewEventsHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	h := &eventsHandler{pipeline: ServiceFromDeps(d, tokens.FromDeps(d)),
		opener: componentpush.NewOpener(d.Secrets, d.Config.ComponentAppID, d.Now)}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *eventsHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /wechat/events/{appid}", h.handleEvent)
	return rt
}

func (h *eventsHandler) handleEvent(w http.ResponseWriter, r *http.Request) error {
	inner, _, err := h.opener.Open(r)
	if err != nil {
		return err
	}
	var ev AuditEvent
	if err := xml.Unmarshal(inner, &ev); err != nil {
		return apperr.BadRequest("malformed_push", "the decrypted event is not valid XML")
	}
	if err := h.pipeline.AuditPushed(r.Context(), r.PathValue("appid"), ev); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
	return nil
}

type reconcileJob struct {
	pipeline *Service
	auth     *authorization.Service
}

// NewReconcileJob builds the scheduled auditreconcile function: it follows
// every pipeline waiting on WeChat, for pushes that never came, and retries
// authorization events a push could not finish.
func NewReconcileJob(ctx context.Context, d *app.Deps) (app.Job, error) {
	tm := tokens.FromDeps(d)
	return &reconcileJob{pipeline: ServiceFromDeps(d, tm), auth: authorization.ServiceFromDeps(d, tm)}, nil
}

// ReconcileSummary is what one run did.
type ReconcileSummary struct {
	Checked      int `json:"checked"`
	Changed      int `json:"changed"`
	Failed       int `json:"failed"`
	EventsDone   int `json:"events_done"`
	EventsFailed int `json:"events_failed"`
	// PublicTemplates says what the public mini program's template setup
	// did when it ran ("" when its templates were in place).
	PublicTemplates string `json:"public_templates,omitempty"`
}

func (j *reconcileJob) Run(ctx context.Context) (any, error) {
	var sum ReconcileSummary
	var err error
	if sum.EventsDone, sum.EventsFailed, err = j.auth.RetryPending(ctx); err != nil {
		return sum, err
	}
	if sum.PublicTemplates, err = j.pipeline.keepPublicTemplates(ctx); err != nil {
		// The public mini program's notifications wait for the next run;
		// the pipelines need not.
		j.pipeline.cfg.Log.WarnContext(ctx, "public subscribe templates", "err", err.Error())
	}
	pending, err := j.pipeline.Pending(ctx)
	if err != nil {
		return sum, err
	}
	for _, p := range pending {
		sum.Checked++
		out, err := j.pipeline.Reconcile(ctx, p)
		if err != nil {
			sum.Failed++
			j.pipeline.cfg.Log.WarnContext(ctx, "reconcile failed", "appid", p.AppID, "err", err.Error())
			continue
		}
		if out.State != p.State {
			sum.Changed++
		}
	}
	return sum, nil
}
