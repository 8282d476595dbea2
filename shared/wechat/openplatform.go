package wechat

import "context"

// Open platform accounts (开放平台账号) created and bound through the
// platform, so that the accounts bound to one share their users' unionid.
// Each call is made with an authorizer's token and acts on that account.
// https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/account/create.html
// https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/account/bind.html
// https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/account/get.html

// Error codes of the open/* APIs.
const (
	// CodeOpenAlreadyBound: the account is bound to an open account already.
	CodeOpenAlreadyBound = 89000
	// CodeOpenNotSamePrincipal: the account and the open account have
	// different principals.
	CodeOpenNotSamePrincipal = 89001
	// CodeOpenNotBound: the account is bound to no open account (open/get).
	CodeOpenNotBound = 89002
	// CodeOpenNotCreatedByAPI: the open account was not created through
	// the API, so a platform may not change it.
	CodeOpenNotCreatedByAPI = 89003
	// CodeOpenBindLimit: the open account holds its maximum of accounts
	// (5 while uncertified, 100 certified).
	CodeOpenBindLimit = 89004
	// CodeOpenNotAPIOrUnverified: an uncertified open account not created
	// through the API.
	CodeOpenNotAPIOrUnverified = 89036
	// CodeInvalidAppID: an appid or open_appid WeChat does not know, or an
	// appid other than the token's.
	CodeInvalidAppID = 40013
)

// CreateOpenAccount creates an open account with the authorizer's
// principal and binds the authorizer to it.
func (c *Client) CreateOpenAccount(ctx context.Context, aat TokenSource, appid string) (string, error) {
	var out struct {
		OpenAppID string `json:"open_appid"`
	}
	err := c.Do(ctx, appPost("/cgi-bin/open/create", aat, map[string]string{queryAppID: appid}), &out)
	return out.OpenAppID, err
}

// BindOpenAccount binds the authorizer to the open account openAppID.
// Idempotent at WeChat's side in effect: a repeat is 89000.
func (c *Client) BindOpenAccount(ctx context.Context, aat TokenSource, appid, openAppID string) error {
	return c.Do(ctx, appPost("/cgi-bin/open/bind", aat, map[string]string{queryAppID: appid, "open_appid": openAppID}), nil)
}

// UnbindOpenAccount unbinds the authorizer from the open account openAppID.
func (c *Client) UnbindOpenAccount(ctx context.Context, aat TokenSource, appid, openAppID string) error {
	return c.Do(ctx, appPost("/cgi-bin/open/unbind", aat, map[string]string{queryAppID: appid, "open_appid": openAppID}), nil)
}

// OpenAccountOf returns the open account the authorizer is bound to, ""
// when none (89002).
func (c *Client) OpenAccountOf(ctx context.Context, aat TokenSource, appid string) (string, error) {
	var out struct {
		OpenAppID string `json:"open_appid"`
	}
	err := c.Do(ctx, appPost("/cgi-bin/open/get", aat, map[string]string{queryAppID: appid}).retryable(), &out)
	if IsCode(err, CodeOpenNotBound) {
		return "", nil
	}
	return out.OpenAppID, err
}
