package wechat

import (
	"context"
	"net/url"
)

// Code management, review and release APIs (authorizer token), and the
// platform's template library (component token):
// https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/code-management/commit.html

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
	err := c.Do(ctx, appGet("/wxa/gettemplatelist", cat).retryable(), &out)
	return out.TemplateList, err
}

// Commit uploads a template with the tenant's ext_json as the mini
// program's code (and its trial version).
func (c *Client) Commit(ctx context.Context, aat TokenSource, templateID int64, extJSON, version, desc string) error {
	body := map[string]any{"template_id": templateID, "ext_json": extJSON, "user_version": version, "user_desc": desc}
	return c.Do(ctx, appPost("/wxa/commit", aat, body).retryable(), nil)
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
	err := c.Do(ctx, appPost("/wxa/submit_audit", aat, req), &out)
	return out.AuditID, err
}

// AuditState is a review's status in get_latest_auditstatus
// (https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/code-management/getLatestAuditStatus.html).
type AuditState int

// Review statuses.
const (
	AuditApproved    AuditState = 0
	AuditRejected    AuditState = 1
	AuditUnderReview AuditState = 2
	AuditWithdrawn   AuditState = 3
	AuditDelayed     AuditState = 4
)

// AuditStatus is get_latest_auditstatus's reply.
type AuditStatus struct {
	AuditID     int64      `json:"auditid"`
	Status      AuditState `json:"status"`
	Reason      string     `json:"reason"`
	ScreenShot  string     `json:"ScreenShot"`
	UserVersion string     `json:"user_version"`
	// SubmitAuditTime is when that review was submitted (Unix seconds).
	SubmitAuditTime int64 `json:"submit_audit_time"`
}

// LatestAuditStatus reads the latest review's status.
func (c *Client) LatestAuditStatus(ctx context.Context, aat TokenSource) (AuditStatus, error) {
	var out AuditStatus
	err := c.Do(ctx, appGet("/wxa/get_latest_auditstatus", aat).retryable(), &out)
	return out, err
}

// Release publishes the approved version. The body must be {}.
func (c *Client) Release(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, appPost("/wxa/release", aat, map[string]any{}), nil)
}

// UndoAudit withdraws a pending review (quota: 5 a day).
func (c *Client) UndoAudit(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, appGet("/wxa/undocodeaudit", aat), nil)
}

// RevertRelease rolls back to the previously released version.
func (c *Client) RevertRelease(ctx context.Context, aat TokenSource) error {
	return c.Do(ctx, appGet("/wxa/revertcoderelease", aat), nil)
}

// TrialQRCode returns the trial version's QR image.
func (c *Client) TrialQRCode(ctx context.Context, aat TokenSource, path string) (string, []byte, error) {
	req := appGet("/wxa/get_qrcode", aat).retryable()
	req.Query = url.Values{"path": {path}}
	return c.DoBinary(ctx, req)
}

// WxaCodeUnlimit returns a mini program code for a page and scene (≤ 32
// characters). envVersion: release, trial or develop.
func (c *Client) WxaCodeUnlimit(ctx context.Context, aat TokenSource, scene, page, envVersion string) (string, []byte, error) {
	body := map[string]any{"scene": scene, "page": page, "check_path": false, "env_version": envVersion}
	return c.DoBinary(ctx, appPost("/wxa/getwxacodeunlimit", aat, body).retryable())
}

// Category is a service category (ids from getallcategories).
type Category struct {
	First      int    `json:"first"`
	FirstName  string `json:"first_name"`
	Second     int    `json:"second"`
	SecondName string `json:"second_name"`
}

// AllCategories returns the category tree flattened to first/second pairs.
func (c *Client) AllCategories(ctx context.Context, aat TokenSource) ([]Category, error) {
	var out struct {
		CategoriesList struct {
			Categories []struct {
				ID       int    `json:"id"`
				Name     string `json:"name"`
				Level    int    `json:"level"`
				Father   int    `json:"father"`
				Children []int  `json:"children"`
			} `json:"categories"`
		} `json:"categories_list"`
	}
	if err := c.Do(ctx, appGet("/cgi-bin/wxopen/getallcategories", aat).retryable(), &out); err != nil {
		return nil, err
	}
	names := map[int]string{}
	for _, cat := range out.CategoriesList.Categories {
		names[cat.ID] = cat.Name
	}
	var flat []Category
	for _, cat := range out.CategoriesList.Categories {
		if cat.Level == 2 {
			flat = append(flat, Category{First: cat.Father, FirstName: names[cat.Father], Second: cat.ID, SecondName: cat.Name})
		}
	}
	return flat, nil
}

// Categories returns the mini program's configured categories.
func (c *Client) Categories(ctx context.Context, aat TokenSource) ([]Category, error) {
	var out struct {
		Categories []Category `json:"categories"`
	}
	err := c.Do(ctx, appGet("/cgi-bin/wxopen/getcategory", aat).retryable(), &out)
	return out.Categories, err
}

// AddCategories adds service categories.
func (c *Client) AddCategories(ctx context.Context, aat TokenSource, cats []Category) error {
	list := []map[string]any{}
	for _, cat := range cats {
		list = append(list, map[string]any{"first": cat.First, "second": cat.Second, "certicates": []any{}})
	}
	return c.Do(ctx, appPost("/cgi-bin/wxopen/addcategory", aat, map[string]any{"categories": list}).retryable(), nil)
}

// PrivacyInterfaceState is a privacy API's application status in
// get_privacy_interface
// (https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/privacy-api-management/getPrivacyInterface.html).
type PrivacyInterfaceState int

// Privacy API application statuses.
const (
	PrivacyToApply      PrivacyInterfaceState = 1
	PrivacyNoPermission PrivacyInterfaceState = 2
	PrivacyApplying     PrivacyInterfaceState = 3
	PrivacyRejected     PrivacyInterfaceState = 4
	PrivacyEnabled      PrivacyInterfaceState = 5
)

// PrivacyInterface is one privacy API's application status.
type PrivacyInterface struct {
	APIName    string                `json:"api_name"`
	Status     PrivacyInterfaceState `json:"status"`
	FailReason string                `json:"fail_reason"`
}

// PrivacyInterfaces lists the privacy APIs and their status.
func (c *Client) PrivacyInterfaces(ctx context.Context, aat TokenSource) ([]PrivacyInterface, error) {
	var out struct {
		InterfaceList []PrivacyInterface `json:"interface_list"`
	}
	err := c.Do(ctx, appGet("/wxa/security/get_privacy_interface", aat).retryable(), &out)
	return out.InterfaceList, err
}

// ApplyPrivacyInterface applies for a privacy API with a reason.
func (c *Client) ApplyPrivacyInterface(ctx context.Context, aat TokenSource, apiName, reason string) error {
	return c.Do(ctx, appPost("/wxa/security/apply_privacy_interface", aat, map[string]any{"api_name": apiName, "content": reason}), nil)
}

// SetPrivacySetting declares the user data the mini program collects.
func (c *Client) SetPrivacySetting(ctx context.Context, aat TokenSource, contactEmail string, settings map[string]string) error {
	list := []map[string]string{}
	for k, v := range settings {
		list = append(list, map[string]string{"privacy_key": k, "privacy_text": v})
	}
	body := map[string]any{
		"privacy_ver":   2,
		"owner_setting": map[string]string{"contact_email": contactEmail, "notice_method": "In-app notice"},
		"setting_list":  list,
	}
	return c.Do(ctx, appPost("/cgi-bin/component/setprivacysetting", aat, body).retryable(), nil)
}

// SetServerDomains sets the request/upload/download domains.
func (c *Client) SetServerDomains(ctx context.Context, aat TokenSource, request, upload, download []string) error {
	body := map[string]any{
		"action": "set", "requestdomain": request, "uploaddomain": upload, "downloaddomain": download,
		"wsrequestdomain": []string{}, "udpdomain": []string{}, "tcpdomain": []string{},
	}
	return c.Do(ctx, appPost("/wxa/modify_domain", aat, body).retryable(), nil)
}
