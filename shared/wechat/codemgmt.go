package wechat

import (
	"context"
	"net/http"
	"net/url"
)

// Code management, review and release APIs (authorizer token), and the
// platform's template library (component token). wechat-spec §1.4–1.7.

// Template is a code template of the platform's library.
type Template struct {
	TemplateID  int64  `json:"template_id"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CreateTime  int64  `json:"create_time"`
}

// TemplateList lists the platform's code templates.
func (c *Client) TemplateList(ctx context.Context, cat TokenSource) ([]Template, error) {
	var out struct {
		TemplateList []Template `json:"template_list"`
	}
	err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/wxa/gettemplatelist", TokenParam: "access_token", Tokens: cat, Idempotent: true}, &out)
	return out.TemplateList, err
}

// Commit uploads a template with the tenant's ext_json as the mini
// program's code (and its trial version).
func (c *Client) Commit(ctx context.Context, aat TokenSource, templateID int64, extJSON, version, desc string) error {
	return c.Do(ctx, Request{Method: http.MethodPost, Path: "/wxa/commit", TokenParam: "access_token", Tokens: aat, Idempotent: true,
		Body: map[string]any{"template_id": templateID, "ext_json": extJSON, "user_version": version, "user_desc": desc}}, nil)
}

// SubmitAuditRequest is submit_audit's body.
type SubmitAuditRequest struct {
	VersionDesc      string `json:"version_desc,omitempty"`
	FeedbackInfo     string `json:"feedback_info,omitempty"`
	PrivacyAPINotUse bool   `json:"privacy_api_not_use"`
}

// SubmitAudit submits the committed code for review. Not idempotent: a
// second submit of the same code is 85009, handled by the caller.
func (c *Client) SubmitAudit(ctx context.Context, aat TokenSource, req SubmitAuditRequest) (int64, error) {
	var out struct {
		AuditID int64 `json:"auditid"`
	}
	err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/wxa/submit_audit", TokenParam: "access_token", Tokens: aat, Body: req}, &out)
	return out.AuditID, err
}

// AuditStatus is get_latest_auditstatus's reply. Status: 0 approved,
// 1 rejected, 2 under review, 3 withdrawn, 4 delayed.
type AuditStatus struct {
	AuditID     int64  `json:"auditid"`
	Status      int    `json:"status"`
	Reason      string `json:"reason"`
	ScreenShot  string `json:"ScreenShot"`
	UserVersion string `json:"user_version"`
}

// LatestAuditStatus reads the latest review's status.
func (c *Client) LatestAuditStatus(ctx context.Context, aat TokenSource) (AuditStatus, error) {
	var out AuditStatus
	err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/wxa/get_latest_auditstatus", TokenParam: "access_token", Tokens: aat, Idempotent: true}, &out)
	return out, err
}

// Release publishes the approved version. The body must be {}.
func (c *Client) Release(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, Request{Method: http.MethodPost, Path: "/wxa/release", TokenParam: "access_token", Tokens: aat, Body: map[string]any{}}, nil)
}

// UndoAudit withdraws a pending review (quota: 5 a day).
func (c *Client) UndoAudit(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: "/wxa/undocodeaudit", TokenParam: "access_token", Tokens: aat}, nil)
}

// RevertRelease rolls back to the previously released version.
func (c *Client) RevertRelease(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: "/wxa/revertcoderelease", TokenParam: "access_token", Tokens: aat}, nil)
}

// TrialQRCode returns the trial version's QR image.
func (c *Client) TrialQRCode(ctx context.Context, aat TokenSource, path string) (string, []byte, error) {
	return c.DoBinary(ctx, Request{Method: http.MethodGet, Path: "/wxa/get_qrcode", TokenParam: "access_token", Tokens: aat,
		Query: url.Values{"path": {path}}, Idempotent: true})
}

// WxaCodeUnlimit returns a mini program code for a page and scene (≤ 32
// characters). envVersion: release, trial or develop.
func (c *Client) WxaCodeUnlimit(ctx context.Context, aat TokenSource, scene, page, envVersion string) (string, []byte, error) {
	return c.DoBinary(ctx, Request{Method: http.MethodPost, Path: "/wxa/getwxacodeunlimit", TokenParam: "access_token", Tokens: aat,
		Body: map[string]any{"scene": scene, "page": page, "check_path": false, "env_version": envVersion}, Idempotent: true})
}
