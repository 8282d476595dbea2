package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/notify"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

// State is where a mini program's release pipeline stands.
type State string

// Pipeline states.
const (
	StateIdle          State = "idle"
	StateWaitingScan   State = "waiting_privacy_scan"
	StateUnderReview   State = "under_review"
	StateDelayed       State = "review_delayed"
	StateRejected      State = "rejected"
	StateApproved      State = "approved"
	StateReleased      State = "released"
	StateReleaseFailed State = "release_failed"
	StateSubmitFailed  State = "submit_failed"
	StateWithdrawn     State = "withdrawn"
)

// Action is something the admin can do next in a state.
type Action string

// Actions offered to the admin.
const (
	ActionSubmit     Action = "submit_for_review"
	ActionWaitScan   Action = "wait (resubmitted automatically)"
	ActionWaitReview Action = "wait for the review"
	ActionUndoReview Action = "undo_review"
	ActionRelease    Action = "release"
	ActionGetQRCode  Action = "get_qrcode"
	ActionRollback   Action = "rollback"
	// ActionSpeedUp is offered with the release status when a review is
	// slow and speed-ups remain (releaseops.go).
	ActionSpeedUp Action = "speed_up_review"
)

// nextActions is the transition table the admin sees: what can be done in
// each state. No state is without an action.
var nextActions = map[State][]Action{
	StateIdle:          {ActionSubmit},
	StateSubmitFailed:  {ActionSubmit},
	StateRejected:      {ActionSubmit},
	StateWithdrawn:     {ActionSubmit},
	StateWaitingScan:   {ActionWaitScan, ActionSubmit},
	StateUnderReview:   {ActionWaitReview, ActionUndoReview},
	StateDelayed:       {ActionWaitReview, ActionUndoReview},
	StateApproved:      {ActionRelease, ActionSubmit},
	StateReleaseFailed: {ActionRelease, ActionSubmit},
	StateReleased:      {ActionGetQRCode, ActionSubmit, ActionRollback},
}

// reviewPending says WeChat is reviewing the code in s.
func (s State) reviewPending() bool { return s == StateUnderReview || s == StateDelayed }

// waitsOnWeChat says the reconcile schedule follows pipelines in s.
func (s State) waitsOnWeChat() bool {
	return s == StateWaitingScan || s.reviewPending() || s == StateApproved
}

// pendingIndexPK lists pipelines the reconcile schedule must look at.
const pendingIndexPK = "release#pending"

// skPipeline is the sort key of a mini program's pipeline item.
const skPipeline = "release"

// Problem is the last error with its fix.
type Problem struct {
	Code     string `dynamo:"code" json:"code"`
	Message  string `dynamo:"message" json:"message"`
	Solution string `dynamo:"solution" json:"solution"`
}

// Pipeline is one bound mini program's way from commit to release.
type Pipeline struct {
	PK               string   `dynamo:"pk,hash" json:"-"`
	SK               string   `dynamo:"sk,range" json:"-"`
	PendingPK        string   `dynamo:"gsi1pk,omitempty" json:"-"`
	PendingSK        string   `dynamo:"gsi1sk,omitempty" json:"-"`
	AppID            string   `dynamo:"appid" json:"appid"`
	TenantID         string   `dynamo:"tenant_id" json:"tenant_id"`
	State            State    `dynamo:"state" json:"state"`
	TemplateID       int64    `dynamo:"template_id" json:"template_id"`
	Version          string   `dynamo:"user_version" json:"version"`
	AuditID          int64    `dynamo:"audit_id" json:"audit_id,omitempty"`
	SubmittedAt      int64    `dynamo:"submitted_at,omitempty" json:"submitted_at,omitempty"`
	AuditReason      string   `dynamo:"audit_reason,omitempty" json:"audit_reason,omitempty"`
	Screenshots      []string `dynamo:"screenshots,omitempty" json:"screenshots,omitempty"`
	ReleasedVersion  string   `dynamo:"released_version,omitempty" json:"released_version,omitempty"`
	PreviousReleased string   `dynamo:"previous_released,omitempty" json:"previous_released,omitempty"`
	LastError        *Problem `dynamo:"last_error,omitempty" json:"last_error,omitempty"`
	UpdatedAt        int64    `dynamo:"updated_at" json:"updated_at"`
	Rev              int64    `dynamo:"rev" json:"-"`
	// SpedUpAt is when the admin sped the pending review up (Unix
	// seconds; WeChat allows it once per review).
	SpedUpAt int64 `dynamo:"sped_up_at,omitempty" json:"sped_up_at,omitempty"`
}

// NextActions tells the admin what can be done in the pipeline's state:
// only what can work. A release WeChat refused because nothing is approved
// (85019) offers a new submission, not the release again.
func (p Pipeline) NextActions() []Action {
	if p.State == StateReleaseFailed && !p.ReleasePending() {
		return []Action{ActionSubmit}
	}
	if a, ok := nextActions[p.State]; ok {
		return a
	}
	return []Action{ActionSubmit}
}

// ReleasePending says an approved version waits to be released: the
// review passed, or a release of it failed for a reason other than there
// being nothing approved.
func (p Pipeline) ReleasePending() bool {
	switch p.State {
	case StateApproved:
		return true
	case StateReleaseFailed:
		return p.LastError == nil || p.LastError.Code != problems[wechat.CodeNoApprovedVersion].Code
	}
	return false
}

// problems are WeChat's refusals the admin can act on, with their fixes.
var problems = map[int]Problem{
	wechat.CodePrivacyScanPending: {
		Code:     "privacy_scan_pending",
		Message:  "WeChat is still scanning the new code for privacy interfaces.",
		Solution: "Nothing to do: the submission is retried automatically in a few minutes.",
	},
	wechat.CodePrivacyUndeclared: {
		Code:     "privacy_not_declared",
		Message:  "WeChat reports a privacy interface (location) used without declaration or permission.",
		Solution: "Run Prepare so the location interface is applied for and declared, then submit again.",
	},
	wechat.CodeAuditQuota: {
		Code:     "review_quota_exceeded",
		Message:  "Too many review submissions in the last 7 days.",
		Solution: "Wait a few days before submitting again, or use WeChat's speed-up quota.",
	},
	wechat.CodeBasicInfoIncomplete: {
		Code:     "basic_info_incomplete",
		Message:  "The mini program's name, icon or description is not set.",
		Solution: "Complete them on mp.weixin.qq.com, then submit again.",
	},
	wechat.CodeNoApprovedVersion: {
		Code:     "no_approved_version",
		Message:  "There is no approved version to release.",
		Solution: "Submit the code for review and release after approval.",
	},
	wechat.CodeNotReleasable: {
		Code:     "not_releasable",
		Message:  "The review status does not allow release.",
		Solution: "Wait for the review to finish, then release.",
	},
	wechat.CodeUndoQuota: {
		Code:     "undo_quota_exceeded",
		Message:  "The review can be withdrawn at most 5 times a day.",
		Solution: "Wait for the review result instead.",
	},
	wechat.CodeNoPreviousRelease: {
		Code:     "no_previous_version",
		Message:  "There is no previous release to roll back to.",
		Solution: "Submit a fixed version for review instead.",
	},
	wechat.CodeTemplateMissing: {
		Code:     "template_missing",
		Message:  "The chosen code template no longer exists.",
		Solution: "Pick the latest version from the catalogue.",
	},
}

func problemOf(err error) (Problem, bool) {
	if e, ok := errors.AsType[*wechat.APIError](err); ok {
		p, ok := problems[e.Code]
		return p, ok
	}
	return Problem{}, false
}

// Config is what the pipeline needs besides its stores and clients.
type Config struct {
	// APIBaseURL is our public base URL (ext_json, server domains).
	APIBaseURL string
	// UploadBucket and Region name the photo bucket (upload domain).
	UploadBucket, Region string
	// PublicAppID is the platform's public mini program (QR codes of
	// tenants without their own).
	PublicAppID string
	Now         func() time.Time
	Log         *slog.Logger
}

// Service runs the pipeline.
type Service struct {
	tokens   *tokens.Manager
	bindings *binding.Store
	settings *tenant.Store
	scenes   *qrscene.Codec
	wx       *wechat.Client
	notify   *notify.Setup
	table    dynamo.Table
	service  dynamo.Table
	cfg      Config
}

// Parts are the stores and clients of a Service.
type Parts struct {
	Tokens   *tokens.Manager
	Bindings *binding.Store
	Settings *tenant.Store
	Scenes   *qrscene.Codec
	WeChat   *wechat.Client
	// Notify sets up the subscribe-message templates.
	Notify *notify.Setup
	// Pipelines is the platform table; Service the service table (the
	// tenants' settings, read with their binding).
	Pipelines, Service dynamo.Table
}

// NewService returns the pipeline over its parts.
func NewService(p Parts, cfg Config) *Service {
	return &Service{tokens: p.Tokens, bindings: p.Bindings, settings: p.Settings, scenes: p.Scenes,
		wx: p.WeChat, notify: p.Notify, table: p.Pipelines, service: p.Service, cfg: cfg}
}

// ServiceFromDeps builds the pipeline at a function's edge around its one
// token manager.
func ServiceFromDeps(d *app.Deps, tm *tokens.Manager) *Service {
	return NewService(Parts{Tokens: tm, Bindings: binding.NewStore(d.DB), Settings: tenant.NewStore(d.DB),
		Scenes: qrscene.FromDeps(d), WeChat: d.WeChat, Notify: notify.NewSetup(d.WeChat, notify.NewStore(d.DB), d.Now),
		Pipelines: d.DB.Platform, Service: d.DB.Service},
		Config{APIBaseURL: d.Config.APIBaseURL, UploadBucket: d.Config.UploadBucket, Region: d.Config.Region,
			PublicAppID: d.Config.PublicAppID, Now: d.Now, Log: d.Log})
}

func pipelinePK(appid string) string { return storage.AuthorizerPartition(appid) }

// Get returns the pipeline of appid (idle when none).
func (s *Service) Get(ctx context.Context, appid string) (Pipeline, error) {
	var p Pipeline
	err := s.table.Get("pk", pipelinePK(appid)).Range("sk", dynamo.Equal, skPipeline).Consistent(true).One(ctx, &p)
	if errors.Is(err, dynamo.ErrNotFound) {
		return Pipeline{PK: pipelinePK(appid), SK: skPipeline, AppID: appid, State: StateIdle}, nil
	}
	return p, err
}

// save writes p if nobody changed it since it was read (rev).
func (s *Service) save(ctx context.Context, p Pipeline) (Pipeline, error) {
	expected := p.Rev
	p.Rev = s.cfg.Now().UnixNano()
	p.UpdatedAt = s.cfg.Now().Unix()
	p.PendingPK, p.PendingSK = "", ""
	if p.State.waitsOnWeChat() {
		p.PendingPK, p.PendingSK = pendingIndexPK, fmt.Sprintf("%012d#%s", p.UpdatedAt, p.AppID)
	}
	put := s.table.Put(p)
	if expected == 0 {
		put = put.If("attribute_not_exists('pk')")
	} else {
		put = put.If("'rev' = ?", expected)
	}
	if err := put.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Pipeline{}, apperr.E(apperr.Conflict, "pipeline_changed", "the release pipeline changed meanwhile; reload and retry")
		}
		return Pipeline{}, err
	}
	return p, nil
}

// boundPipeline returns the release pipeline of the tenant's bound mini
// program (idle when nothing was submitted yet).
func (s *Service) boundPipeline(ctx context.Context, tenantID string) (Pipeline, error) {
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return Pipeline{}, err
	}
	return s.Get(ctx, b.AppID)
}

// boundPipelineWithSettings is boundPipeline with the tenant's settings,
// read with the binding in one call.
func (s *Service) boundPipelineWithSettings(ctx context.Context, tenantID string) (Pipeline, tenant.Settings, error) {
	b, st, err := s.bindings.ByTenantWithSettings(ctx, tenantID, s.service)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !b.Bound()) {
		return Pipeline{}, st, errNoMiniProgram
	}
	if err != nil {
		return Pipeline{}, st, err
	}
	p, err := s.Get(ctx, b.AppID)
	return p, st, err
}

var errNoMiniProgram = apperr.E(apperr.Conflict, "no_mini_program", "connect your enterprise mini program first")

// notBound says err is boundApp's answer for a tenant without an
// enterprise mini program.
func notBound(err error) bool {
	var he *apperr.Error
	return errors.As(err, &he) && he.Code == "no_mini_program"
}

// boundApp returns the tenant's bound mini program.
func (s *Service) boundApp(ctx context.Context, tenantID string) (binding.Binding, error) {
	b, err := s.bindings.ByTenant(ctx, tenantID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !b.Bound()) {
		return b, errNoMiniProgram
	}
	return b, err
}

// ExtJSON is the tenant's configuration carried into the mini program.
func (s *Service) ExtJSON(appid, tenantID, displayName string) string {
	ext := map[string]any{
		"extEnable": true, "extAppid": appid, "directCommit": false,
		"ext":                  map[string]any{"apiBaseUrl": s.cfg.APIBaseURL, "tenantId": tenantID, "displayName": displayName},
		"requiredPrivateInfos": []string{"getLocation", "chooseLocation"},
		"permission":           map[string]any{"scope.userLocation": map[string]string{"desc": "to locate the equipment that needs service"}},
	}
	b, _ := json.Marshal(ext)
	return string(b)
}

// Submit commits the chosen template and submits it for review. Twice in a
// row never makes two reviews: the state machine refuses while one is
// pending, and 85009 reconciles instead of failing.
func (s *Service) Submit(ctx context.Context, tenantID string, templateID int64, manual bool) (Pipeline, error) {
	p, st, err := s.boundPipelineWithSettings(ctx, tenantID)
	if err != nil {
		return Pipeline{}, err
	}
	if p.State.reviewPending() {
		return Pipeline{}, apperr.E(apperr.Conflict, "review_pending", "a review is already in progress; wait for it or undo it")
	}
	wx := s.wx
	templates, err := wx.TemplateList(ctx, s.tokens.ComponentTokenSource())
	if err != nil {
		return Pipeline{}, fmt.Errorf("template list: %w", err)
	}
	latest := latestTemplate(templates)
	if latest == nil {
		return Pipeline{}, apperr.E(apperr.Conflict, "no_template", "the platform has no code template yet")
	}
	chosen := latest
	if templateID != 0 && templateID != latest.TemplateID {
		chosen = nil
		for i := range templates {
			if templates[i].TemplateID == templateID {
				chosen = &templates[i]
			}
		}
		if chosen == nil {
			return Pipeline{}, apperr.Missing("no such template version")
		}
		if !manual {
			return Pipeline{}, apperr.BadRequest("manual_required", "versions other than the latest need \"manual\": true")
		}
	}
	aat := s.tokens.AuthorizerTokenSource(p.AppID)
	if p.State != StateWaitingScan || p.TemplateID != chosen.TemplateID {
		// Commit only what is not committed yet: after 61039 the next try
		// submits the same commit.
		ext := s.ExtJSON(p.AppID, tenantID, st.DisplayName)
		if err := wx.Commit(ctx, aat, chosen.TemplateID, ext, chosen.UserVersion, chosen.UserDesc); err != nil {
			return s.fail(ctx, p, StateSubmitFailed, err)
		}
	}
	p.TenantID, p.TemplateID, p.Version = tenantID, chosen.TemplateID, chosen.UserVersion
	return s.submit(ctx, wx, p)
}

func latestTemplate(ts []wechat.Template) *wechat.Template {
	var best *wechat.Template
	for i := range ts {
		if best == nil || ts[i].CreateTime > best.CreateTime || (ts[i].CreateTime == best.CreateTime && ts[i].TemplateID > best.TemplateID) {
			best = &ts[i]
		}
	}
	return best
}

func (s *Service) submit(ctx context.Context, wx *wechat.Client, p Pipeline) (Pipeline, error) {
	aat := s.tokens.AuthorizerTokenSource(p.AppID)
	id, err := wx.SubmitAudit(ctx, aat, wechat.SubmitAuditRequest{VersionDesc: "After-sales service portal " + p.Version})
	switch {
	case err == nil:
		p.State, p.AuditID, p.AuditReason, p.LastError = StateUnderReview, id, "", nil
		// A new review: the last rejection's screenshots and speed-up
		// belong to the one before.
		p.SubmittedAt, p.Screenshots, p.SpedUpAt = s.cfg.Now().Unix(), nil, 0
		return s.save(ctx, p)
	case wechat.IsCode(err, wechat.CodePrivacyScanPending):
		pr := problems[wechat.CodePrivacyScanPending]
		p.State, p.LastError = StateWaitingScan, &pr
		return s.save(ctx, p)
	case wechat.IsCode(err, wechat.CodeAuditPending):
		// WeChat already has a review pending: follow it instead.
		st, serr := wx.LatestAuditStatus(ctx, aat)
		if serr != nil {
			return Pipeline{}, fmt.Errorf("reconcile after 85009: %w", serr)
		}
		return s.applyStatus(ctx, p, st)
	}
	return s.fail(ctx, p, StateSubmitFailed, err)
}

// changeWith asks WeChat to act on the tenant's bound mini program and,
// once WeChat has done it, saves what that changes in the pipeline. A
// refusal is recorded with its fix, in the state failedState names (the
// current one when nil), and returned to the admin.
func (s *Service) changeWith(ctx context.Context, tenantID string, act func(*wechat.Client, context.Context, wechat.TokenSource) error,
	failedState func(Pipeline, error) State, change func(*Pipeline)) (Pipeline, error) {
	p, err := s.boundPipeline(ctx, tenantID)
	if err != nil {
		return Pipeline{}, err
	}
	wx := s.wx
	if err := act(wx, ctx, s.tokens.AuthorizerTokenSource(p.AppID)); err != nil {
		state := p.State
		if failedState != nil {
			state = failedState(p, err)
		}
		return s.fail(ctx, p, state, err)
	}
	change(&p)
	p.LastError = nil
	return s.save(ctx, p)
}

// fail records a WeChat error with its fix and returns it to the admin.
func (s *Service) fail(ctx context.Context, p Pipeline, state State, err error) (Pipeline, error) {
	pr, known := problemOf(err)
	if !known {
		return Pipeline{}, err
	}
	p.State, p.LastError = state, &pr
	if _, serr := s.save(ctx, p); serr != nil {
		return Pipeline{}, serr
	}
	return p, apperr.E(apperr.Rejected, pr.Code, pr.Message).WithDetails(map[string]any{"solution": pr.Solution, "state": state}).Wrap(err)
}

// applyStatus moves the pipeline to what WeChat reports.
func (s *Service) applyStatus(ctx context.Context, p Pipeline, st wechat.AuditStatus) (Pipeline, error) {
	p.AuditID = st.AuditID
	if st.SubmitAuditTime != 0 {
		p.SubmittedAt = st.SubmitAuditTime
	}
	switch st.Status {
	case wechat.AuditApproved:
		p.State, p.AuditReason, p.LastError = StateApproved, "", nil
	case wechat.AuditRejected:
		p.State, p.AuditReason, p.Screenshots = StateRejected, st.Reason, nil
		for m := range strings.SplitSeq(st.ScreenShot, "|") {
			if m = strings.TrimSpace(m); m != "" && len(p.Screenshots) < 10 {
				p.Screenshots = append(p.Screenshots, m)
			}
		}
		p.LastError = &Problem{Code: "review_rejected", Message: "WeChat rejected the review: " + strings.ReplaceAll(st.Reason, "<br>", " "),
			Solution: "Fix what the reason says, then submit for review again."}
	case wechat.AuditUnderReview:
		p.State = StateUnderReview
	case wechat.AuditWithdrawn:
		p.State = StateWithdrawn
	case wechat.AuditDelayed:
		p.State, p.AuditReason = StateDelayed, st.Reason
	}
	p, err := s.save(ctx, p)
	if err != nil {
		return p, err
	}
	if p.State == StateApproved {
		return s.autoRelease(ctx, p)
	}
	return p, nil
}

func (s *Service) autoRelease(ctx context.Context, p Pipeline) (Pipeline, error) {
	st, err := s.settings.Settings(ctx, p.TenantID)
	if err != nil || !st.AutoRelease {
		return p, err
	}
	out, err := s.Release(ctx, p.TenantID)
	if err != nil {
		if _, ok := errors.AsType[*apperr.Error](err); ok {
			return s.Get(ctx, p.AppID) // release_failed is recorded
		}
		return p, err
	}
	return out, nil
}

// UndoReview withdraws the pending review.
func (s *Service) UndoReview(ctx context.Context, tenantID string) (Pipeline, error) {
	return s.changeWith(ctx, tenantID, (*wechat.Client).UndoAudit, nil, func(p *Pipeline) { p.State = StateWithdrawn })
}

// Rollback returns to the previously released version.
func (s *Service) Rollback(ctx context.Context, tenantID string) (Pipeline, error) {
	return s.changeWith(ctx, tenantID, (*wechat.Client).RevertRelease, nil, func(p *Pipeline) {
		p.ReleasedVersion, p.PreviousReleased = p.PreviousReleased, ""
	})
}

// Release publishes the approved version.
func (s *Service) Release(ctx context.Context, tenantID string) (Pipeline, error) {
	return s.changeWith(ctx, tenantID, (*wechat.Client).Release, releaseFailedState, func(p *Pipeline) {
		p.State, p.PreviousReleased, p.ReleasedVersion = StateReleased, p.ReleasedVersion, p.Version
	})
}

// releaseFailedState: 85020 means the review is still under way, so
// nothing has failed yet; any other refusal is release_failed.
func releaseFailedState(p Pipeline, err error) State {
	if wechat.IsCode(err, wechat.CodeNotReleasable) {
		return p.State
	}
	return StateReleaseFailed
}

// Reconcile follows a pipeline whose push may never come.
func (s *Service) Reconcile(ctx context.Context, p Pipeline) (Pipeline, error) {
	wx := s.wx
	switch p.State {
	case StateWaitingScan:
		return s.submit(ctx, wx, p)
	case StateUnderReview, StateDelayed:
		st, err := wx.LatestAuditStatus(ctx, s.tokens.AuthorizerTokenSource(p.AppID))
		if err != nil {
			return p, err
		}
		if st.AuditID == p.AuditID && st.Status == wechat.AuditUnderReview && p.State == StateUnderReview {
			return p, nil
		}
		return s.applyStatus(ctx, p, st)
	case StateApproved:
		return s.autoRelease(ctx, p)
	}
	return p, nil
}

// awaitsPush says whether an audit result pushed at created (WeChat's
// clock) belongs to the review this pipeline waits for. The push names no
// audit id: one for an earlier review that arrives late, or a repeat after
// the result was applied, must not move the pipeline.
func (p Pipeline) awaitsPush(created time.Time) bool {
	if !p.State.reviewPending() {
		return false
	}
	return p.SubmittedAt == 0 || !created.Before(time.Unix(p.SubmittedAt, 0).Add(-pushClockSkew))
}

// pushClockSkew allows for WeChat's clock running behind ours.
const pushClockSkew = 30 * time.Second

// Pending lists pipelines waiting on WeChat (index query, no scan).
func (s *Service) Pending(ctx context.Context) ([]Pipeline, error) {
	var all []Pipeline
	err := s.table.Get("gsi1pk", pendingIndexPK).Index(storage.IndexGSI1).All(ctx, &all)
	out := all[:0]
	for _, p := range all {
		if p.State.waitsOnWeChat() { // index reads lag behind state changes
			out = append(out, p)
		}
	}
	return out, err
}
