package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Names and values the component APIs share.
const (
	fieldComponentAppID    = "component_appid"
	grantAuthorizationCode = "authorization_code"
	queryAppID             = "appid"
	queryGrantType         = "grant_type"
)

// ComponentToken is api_component_token's reply.
type ComponentToken struct {
	AccessToken string `json:"component_access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// ComponentToken mints a component_access_token from the verify ticket.
func (c *Client) ComponentToken(ctx context.Context, ticket string) (ComponentToken, error) {
	secret, err := c.cfg.ComponentSecret(ctx)
	if err != nil {
		return ComponentToken{}, fmt.Errorf("api_component_token: component secret: %w", err)
	}
	var out ComponentToken
	err = c.Do(ctx, Request{
		Method: http.MethodPost, Path: "/cgi-bin/component/api_component_token", API: "api_component_token",
		Body: map[string]string{
			fieldComponentAppID: c.cfg.ComponentAppID, "component_appsecret": secret,
			"component_verify_ticket": ticket,
		},
		Idempotent: true,
	}, &out)
	return out, err
}

// StartPushTicket asks WeChat to (re)start pushing verify tickets.
func (c *Client) StartPushTicket(ctx context.Context) error {
	secret, err := c.cfg.ComponentSecret(ctx)
	if err != nil {
		return fmt.Errorf("api_start_push_ticket: component secret: %w", err)
	}
	return c.Do(ctx, Request{
		Method: http.MethodPost, Path: "/cgi-bin/component/api_start_push_ticket", API: "api_start_push_ticket",
		Body:       map[string]string{fieldComponentAppID: c.cfg.ComponentAppID, "component_secret": secret},
		Idempotent: true,
	}, nil)
}

// PreAuthCode is api_create_preauthcode's reply.
type PreAuthCode struct {
	Code      string `json:"pre_auth_code"`
	ExpiresIn int    `json:"expires_in"`
}

// CreatePreAuthCode starts an authorization flow.
func (c *Client) CreatePreAuthCode(ctx context.Context, cat TokenSource) (PreAuthCode, error) {
	var out PreAuthCode
	err := c.Do(ctx, c.componentCall("/cgi-bin/component/api_create_preauthcode", cat, false,
		map[string]string{fieldComponentAppID: c.cfg.ComponentAppID}), &out)
	return out, err
}

// FuncInfo is one permission set granted by an authorizer.
type FuncInfo struct {
	FuncscopeCategory struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

// AuthorizationInfo is the authorization part of api_query_auth and
// api_get_authorizer_info.
type AuthorizationInfo struct {
	AuthorizerAppID        string     `json:"authorizer_appid"`
	AuthorizerAccessToken  string     `json:"authorizer_access_token"`
	ExpiresIn              int        `json:"expires_in"`
	AuthorizerRefreshToken string     `json:"authorizer_refresh_token"`
	FuncInfo               []FuncInfo `json:"func_info"`
}

// PermissionIDs lists the granted permission set ids.
func (a AuthorizationInfo) PermissionIDs() []int {
	out := make([]int, 0, len(a.FuncInfo))
	for _, f := range a.FuncInfo {
		out = append(out, f.FuncscopeCategory.ID)
	}
	return out
}

// QueryAuth exchanges a single-use authorization code.
func (c *Client) QueryAuth(ctx context.Context, cat TokenSource, authCode string) (AuthorizationInfo, error) {
	var out struct {
		AuthorizationInfo AuthorizationInfo `json:"authorization_info"`
	}
	err := c.Do(ctx, c.componentCall("/cgi-bin/component/api_query_auth", cat, false,
		map[string]string{fieldComponentAppID: c.cfg.ComponentAppID, "authorization_code": authCode}), &out)
	return out.AuthorizationInfo, err
}

// AuthorizerToken is api_authorizer_token's reply.
type AuthorizerToken struct {
	AccessToken  string `json:"authorizer_access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"authorizer_refresh_token"`
}

// AuthorizerToken refreshes an authorizer's access token.
func (c *Client) AuthorizerToken(ctx context.Context, cat TokenSource, authorizerAppID, refreshToken string) (AuthorizerToken, error) {
	var out AuthorizerToken
	err := c.Do(ctx, c.componentCall("/cgi-bin/component/api_authorizer_token", cat, true, map[string]string{
		fieldComponentAppID: c.cfg.ComponentAppID, "authorizer_appid": authorizerAppID, "authorizer_refresh_token": refreshToken,
	}), &out)
	return out, err
}

// AuthorizerInfo describes an authorized account.
type AuthorizerInfo struct {
	NickName        string `json:"nick_name"`
	HeadImg         string `json:"head_img"`
	UserName        string `json:"user_name"`
	PrincipalName   string `json:"principal_name"`
	Signature       string `json:"signature"`
	Alias           string `json:"alias"`
	QRCodeURL       string `json:"qrcode_url"`
	ServiceTypeInfo struct {
		ID int `json:"id"`
	} `json:"service_type_info"`
	VerifyTypeInfo struct {
		ID int `json:"id"`
	} `json:"verify_type_info"`
	// MiniProgramInfo is present only for mini programs.
	MiniProgramInfo *MiniProgramInfo `json:"MiniProgramInfo,omitempty"`
	AccountStatus   int              `json:"account_status"`
	RegisterType    int              `json:"register_type"`
	BasicConfig     struct {
		IsPhoneConfigured bool `json:"is_phone_configured"`
		IsEmailConfigured bool `json:"is_email_configured"`
	} `json:"basic_config"`
}

// MiniProgramInfo is the mini-program part of authorizer_info.
type MiniProgramInfo struct {
	Network    map[string][]string `json:"network"`
	Categories []struct {
		First  string `json:"first"`
		Second string `json:"second"`
	} `json:"categories"`
	VisitStatus int `json:"visit_status"`
}

// AuthorizerInfoResponse is api_get_authorizer_info's reply.
type AuthorizerInfoResponse struct {
	AuthorizerInfo    AuthorizerInfo    `json:"authorizer_info"`
	AuthorizationInfo AuthorizationInfo `json:"authorization_info"`
}

// AuthorizerInfo fetches an authorizer's account details.
func (c *Client) AuthorizerInfo(ctx context.Context, cat TokenSource, authorizerAppID string) (AuthorizerInfoResponse, error) {
	var out AuthorizerInfoResponse
	err := c.Do(ctx, c.componentCall("/cgi-bin/component/api_get_authorizer_info", cat, true, map[string]string{
		fieldComponentAppID: c.cfg.ComponentAppID, "authorizer_appid": authorizerAppID,
	}), &out)
	return out, err
}

// AuthorizerList is api_get_authorizer_list's reply.
type AuthorizerList struct {
	TotalCount int `json:"total_count"`
	List       []struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"refresh_token"`
		AuthTime        int64  `json:"auth_time"`
	} `json:"list"`
}

// AuthorizerList pages through the accounts authorized to the platform.
func (c *Client) AuthorizerList(ctx context.Context, cat TokenSource, offset, count int) (AuthorizerList, error) {
	var out AuthorizerList
	err := c.Do(ctx, c.componentCall("/cgi-bin/component/api_get_authorizer_list", cat, true, map[string]any{
		fieldComponentAppID: c.cfg.ComponentAppID, "offset": offset, "count": count,
	}), &out)
	return out, err
}

// Session is a code2session reply. SessionKey must never leave the server.
type Session struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

// ComponentCode2Session logs a user of an authorized mini program in. The
// js_code is single-use, so the call is never retried once sent.
func (c *Client) ComponentCode2Session(ctx context.Context, cat TokenSource, appid, jsCode string) (Session, error) {
	var out Session
	err := c.Do(ctx, Request{
		Method: http.MethodGet, Path: "/sns/component/jscode2session", API: "component_jscode2session",
		Query: url.Values{queryAppID: {appid}, "js_code": {jsCode}, queryGrantType: {grantAuthorizationCode},
			fieldComponentAppID: {c.cfg.ComponentAppID}},
		TokenParam: paramComponentToken, Tokens: cat,
	}, &out)
	return out, err
}

// Code2Session logs a user of the platform's own (public) mini program in.
func (c *Client) Code2Session(ctx context.Context, appid, secret, jsCode string) (Session, error) {
	var out Session
	err := c.Do(ctx, Request{
		Method: http.MethodGet, Path: "/sns/jscode2session", API: "jscode2session",
		Query: url.Values{queryAppID: {appid}, "secret": {secret}, "js_code": {jsCode}, queryGrantType: {grantAuthorizationCode}},
	}, &out)
	return out, err
}

func (c *Client) componentCall(path string, cat TokenSource, idempotent bool, body any) Request {
	return Request{Method: http.MethodPost, Path: path, Body: body, TokenParam: paramComponentToken,
		Tokens: cat, Idempotent: idempotent}
}

// AppAccessToken mints the access token of the platform's own (public)
// mini program with its AppSecret (client_credential).
func (c *Client) AppAccessToken(ctx context.Context, appid, secret string) (ComponentToken, error) {
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/cgi-bin/token", API: "token", Idempotent: true,
		Query: url.Values{queryGrantType: {"client_credential"}, queryAppID: {appid}, "secret": {secret}}}, &out)
	return ComponentToken{AccessToken: out.AccessToken, ExpiresIn: out.ExpiresIn}, err
}
