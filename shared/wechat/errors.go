package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Error codes the product branches on (wechat-spec §1.10 and the API pages).
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
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
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
