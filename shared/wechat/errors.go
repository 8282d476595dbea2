package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error codes the product branches on. Global codes:
// https://developers.weixin.qq.com/doc/oplatform/Return_codes/Return_code_descriptions_new.html
const (
	CodeBusy                = -1
	CodeInvalidToken        = 40001
	CodeIllegalToken        = 40014
	CodeTokenExpired        = 42001
	CodeInvalidCode         = 40029
	CodeCodeUsed            = 40163
	CodeInvalidSecret       = 40125
	CodeHighRiskUser        = 40226
	CodeQuotaDaily          = 45009
	CodeQuotaMinute         = 45011
	CodeNotAuthorized       = 61003
	CodeIPNotWhitelisted    = 61004
	CodeTicketExpired       = 61005
	CodeTicketInvalid       = 61006
	CodeAuthCodeInvalid     = 61009
	CodeAuthCodeExpired     = 61010
	CodeRefreshTokenInvalid = 61023
)

// Error codes of code management, review and release:
// https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/code-management/submitAudit.html
// https://developers.weixin.qq.com/doc/oplatform/openApi/OpenApiDoc/miniprogram-management/code-management/release.html
const (
	// CodePageNotPublished: a mini program code for a page of a version
	// not released yet (getwxacodeunlimit before the first release).
	CodePageNotPublished = 41030
	// CodeTemplateMissing: commit names a template that no longer exists.
	CodeTemplateMissing = 85014
	// CodeAuditPending: a review is already pending.
	CodeAuditPending = 85009
	// CodeNoApprovedVersion: release without an approved version.
	CodeNoApprovedVersion = 85019
	// CodeNotReleasable: the review's status does not allow release.
	CodeNotReleasable = 85020
	// CodeAuditQuota: too many review submissions in the last 7 days.
	CodeAuditQuota = 85085
	// CodeBasicInfoIncomplete: name, icon or description not set.
	CodeBasicInfoIncomplete = 86002
	// CodeNoPreviousRelease: rollback with nothing to roll back to (no
	// previous release, or rolled back once already). 87011 is another
	// refusal: a gray release is under way.
	// https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_revertcoderelease.html
	CodeNoPreviousRelease = 87012
	// CodeUndoQuota: reviews withdrawn too often today.
	CodeUndoQuota = 87013
	// CodePrivacyScanPending: the committed code is still being scanned
	// for privacy interfaces; submit again later without re-committing.
	CodePrivacyScanPending = 61039
	// CodePrivacyUndeclared: a privacy interface is used undeclared or
	// without permission.
	CodePrivacyUndeclared = 61040
)

// APIError is an error reply: {"errcode":N,"errmsg":"... rid: xxx"}.
type APIError struct {
	Code int
	Msg  string
	// RID is WeChat's request id, for support tickets.
	RID string
	API string
}

func (e *APIError) Error() string {
	if e.RID != "" {
		return fmt.Sprintf("%s: wechat errcode %d: %s (rid %s)", e.API, e.Code, e.Msg, e.RID)
	}
	return fmt.Sprintf("%s: wechat errcode %d: %s", e.API, e.Code, e.Msg)
}

// Upstream names WeChat and its errcode for the error envelope.
func (e *APIError) Upstream() (string, int) { return "wechat", e.Code }

// IsCode reports whether err is an APIError with one of codes.
func IsCode(err error, codes ...int) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return slices.Contains(codes, e.Code)
}

// IsTokenError reports an invalid, illegal or expired access token.
func IsTokenError(err error) bool {
	return IsCode(err, CodeInvalidToken, CodeTokenExpired, CodeIllegalToken)
}

// decodeError returns the APIError in a JSON reply, or nil for success.
func decodeError(api string, raw []byte) *APIError {
	var r struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil
	}
	if r.ErrCode == nil || *r.ErrCode == 0 {
		return nil
	}
	e := &APIError{Code: *r.ErrCode, Msg: r.ErrMsg, API: api}
	if i := strings.LastIndex(r.ErrMsg, "rid: "); i >= 0 {
		e.RID = strings.TrimSpace(r.ErrMsg[i+len("rid: "):])
		e.Msg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(r.ErrMsg[:i]), ","))
	}
	return e
}
