package wechat

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Quick registration of mini programs by the platform: reusing an official
// account's qualification (复用公众号主体快速注册小程序), and an
// enterprise's (快速注册企业小程序).
// https://developers.weixin.qq.com/doc/oplatform/openApi/register-management/fast-registration-officalaccount/api_registerminiprogrambyoffiaccount.html
// https://developers.weixin.qq.com/doc/oplatform/openApi/register-management/fast-registration-ent/api_registerminiprogram.html

// FastRegisterAuthPage is WeChat's confirmation page on which an official
// account's administrator agrees to register a mini program from its
// qualification; WeChat then redirects to redirect_uri with a ticket.
const FastRegisterAuthPage = "https://mp.weixin.qq.com/cgi-bin/fastregisterauth"

// FastRegisterAuthURL is the confirmation page for the official account
// oaAppID. copyVerify asks WeChat to certify the new mini program with the
// official account's certification (copy_wx_verify=1).
func (c *Client) FastRegisterAuthURL(oaAppID, redirectURI string, copyVerify bool) string {
	verify := "0"
	if copyVerify {
		verify = "1"
	}
	q := url.Values{queryAppID: {oaAppID}, fieldComponentAppID: {c.cfg.ComponentAppID}, "copy_wx_verify": {verify},
		"redirect_uri": {redirectURI}}
	return FastRegisterAuthPage + "?" + q.Encode()
}

// Error codes of account/fastregister (the page's 错误码 table).
const (
	CodeFastRegisterPrincipalType    = 61051 // the official account's principal type may not register this way
	CodeFastRegisterNotCertified     = 61052 // the official account is not certified
	CodeFastRegisterPrincipalQuota   = 61053 // the principal registered its maximum of mini programs
	CodeFastRegisterBlacklisted      = 61054 // the principal is blacklisted
	CodeFastRegisterMonthlyQuota     = 61055 // the official account's monthly quota of quick registrations is used up
	CodeFastRegisterMustVerify       = 61056 // government, media and other organisations must reuse the certification
	CodeFastRegisterInProgress       = 61057 // another quick registration of this official account is in progress
	CodeFastRegisterTicketInvalid    = 61058 // the ticket from the confirmation page did not verify (or was used)
	CodeFastRegisterPlatformDraft    = 61028 // the platform is not released
	CodeFastRegisterPlatformScopes   = 61029 // the platform lacks a required permission set
	CodeFastRegisterBadRedirect      = 61060 // redirect_uri is not acceptable
	CodeFastRegisterOverseasAccount  = 61061 // overseas accounts may not register this way
	CodeFastRegisterAPIUnauthorized  = 48001 // the official account did not grant the platform this API
	CodeFastRegisterTaskRunning      = 89249 // fastregisterweapp: a task for this principal runs (24 h)
	CodeFastRegisterInnerError       = 89247
	CodeFastRegisterInvalidWeChatID  = 86004 // the legal representative's WeChat id does not exist
	CodeFastRegisterLegalNameWeChat  = 61070 // the legal representative's name does not match the WeChat id
	CodeFastRegisterInvalidCodeType  = 89248
	CodeFastRegisterTaskNotFound     = 89250 // search: no running task
	CodeFastRegisterAwaitingLegalRep = 89251 // search: waiting for the legal representative's face verification
	CodeFastRegisterChecking         = 89252 // search: WeChat checks the company against the legal representative
	CodeFastRegisterMissingParams    = 89253
	CodeFastRegisterComponentScopes  = 89254 // the platform lacks permission sets
	CodeFastRegisterInvalidCode      = 89255 // the company code's length or content is wrong for its type
)

// flexBool reads a JSON boolean that WeChat sometimes sends as a string
// ("true"): the older page's example quotes it, the newer page types it
// boolean.
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	v, err := strconv.ParseBool(string(bytes.Trim(raw, `"`)))
	*b = flexBool(v && err == nil) // anything else (null, "") is false
	return nil
}

// FastRegistered is account/fastregister's reply: the new mini program
// and the code that authorizes it to the platform.
type FastRegistered struct {
	AppID             string `json:"appid"`
	AuthorizationCode string `json:"authorization_code"`
	// WxVerified says the official account's certification was reused.
	WxVerified flexBool `json:"is_wx_verify_succ"`
	// Linked says the new mini program was linked to the official account.
	Linked flexBool `json:"is_link_succ"`
}

// FastRegisterFromOfficialAccount registers a mini program from the
// official account's qualification, with the ticket WeChat's confirmation
// page redirected with. Never retried once sent: the docs warn that a
// second call within 5 s makes the ticket invalid (61058).
func (c *Client) FastRegisterFromOfficialAccount(ctx context.Context, oaToken TokenSource, ticket string) (FastRegistered, error) {
	var out FastRegistered
	err := c.Do(ctx, appPost("/cgi-bin/account/fastregister", oaToken, map[string]string{"ticket": ticket}), &out)
	return out, err
}

// CodeTypeCreditCode is code_type 1: the 18-character unified social
// credit code (统一社会信用代码).
const CodeTypeCreditCode = 1

// EnterpriseRegistration is the body of fastregisterweapp (create and
// search) and the info echoed back in the notify_third_fasteregister push.
type EnterpriseRegistration struct {
	Name               string `json:"name" xml:"name"`
	Code               string `json:"code" xml:"code"`
	CodeType           int    `json:"code_type" xml:"code_type"`
	LegalPersonaWechat string `json:"legal_persona_wechat" xml:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name" xml:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone,omitempty" xml:"component_phone"`
}

// fastRegisterWeapp is fastregisterweapp with action, the component token
// under access_token (the newer page's name).
func (c *Client) fastRegisterWeapp(action string, cat TokenSource, body any) Request {
	return Request{Method: http.MethodPost, Path: "/cgi-bin/component/fastregisterweapp", API: "fastregisterweapp_" + action,
		Query: url.Values{"action": {action}}, Body: body, TokenParam: paramAccessToken, Tokens: cat}
}

// CreateEnterpriseRegistration asks WeChat to register a mini program for
// the enterprise: WeChat sends its legal representative a request to
// confirm, and the outcome comes as a notify_third_fasteregister push.
// Not retried once sent: a second create for the same principal is 89249.
func (c *Client) CreateEnterpriseRegistration(ctx context.Context, cat TokenSource, reg EnterpriseRegistration) error {
	return c.Do(ctx, c.fastRegisterWeapp("create", cat, reg), nil)
}

// RegistrationState is what fastregisterweapp?action=search says of a task.
type RegistrationState string

// Search answers (errcode 0 and the three task codes).
const (
	RegistrationSearchOK        RegistrationState = "ok"
	RegistrationNotFound        RegistrationState = "not_found"
	RegistrationAwaitingLegal   RegistrationState = "awaiting_legal_representative"
	RegistrationCheckingCompany RegistrationState = "checking_company"
)

// SearchEnterpriseRegistration asks WeChat how a registration task
// stands. The page answers with errcodes: 89250 no task (none, or it
// ended and its outcome was pushed), 89251 waiting for the legal
// representative, 89252 checking the company; these are states here, not
// errors.
func (c *Client) SearchEnterpriseRegistration(ctx context.Context, cat TokenSource, reg EnterpriseRegistration) (RegistrationState, error) {
	body := map[string]string{"name": reg.Name, "legal_persona_wechat": reg.LegalPersonaWechat, "legal_persona_name": reg.LegalPersonaName}
	err := c.Do(ctx, c.fastRegisterWeapp("search", cat, body).retryable(), nil)
	switch {
	case err == nil:
		return RegistrationSearchOK, nil
	case IsCode(err, CodeFastRegisterTaskNotFound):
		return RegistrationNotFound, nil
	case IsCode(err, CodeFastRegisterAwaitingLegalRep):
		return RegistrationAwaitingLegal, nil
	case IsCode(err, CodeFastRegisterChecking):
		return RegistrationCheckingCompany, nil
	}
	return "", err
}
