package wechatsim

import (
	"net/http"
	"time"
)

// tokenSet holds the current token and the previous one, which WeChat keeps
// valid for a grace period after issuing a new one.
type tokenSet struct {
	current, previous             string
	currentExpiry, previousExpiry time.Time
}

func newTokenSet() *tokenSet { return &tokenSet{} }

// issue makes a new current token; the old one stays valid until
// min(its expiry, now+grace).
func (t *tokenSet) issue(prefix string, now time.Time, ttl, grace time.Duration) string {
	if t.current != "" {
		t.previous = t.current
		t.previousExpiry = t.currentExpiry
		if limit := now.Add(grace); limit.Before(t.previousExpiry) {
			t.previousExpiry = limit
		}
	}
	t.current = prefix + randomHex(16)
	t.currentExpiry = now.Add(ttl)
	return t.current
}

// check returns 0 for a valid token, 41001 for none, 42001 for an expired
// one and 40001 for an unknown one.
func (t *tokenSet) check(token string, now time.Time) int {
	switch token {
	case "":
		return codeTokenMissing
	case t.current:
		if now.Before(t.currentExpiry) {
			return 0
		}
		return codeTokenExpired
	case t.previous:
		if now.Before(t.previousExpiry) {
			return 0
		}
		return codeTokenExpired
	}
	return codeInvalidCredential
}

// invalidate forgets every token (an authorization revoked).
func (t *tokenSet) invalidate() { *t = tokenSet{} }

// Query parameters that carry a token, per API family:
//   - The component APIs (/cgi-bin/component/api_*) take the component
//     token under either name. The 2.0 pages name it component_access_token
//     (https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/ThirdParty/token/pre_auth_code.html);
//     the current pages name it access_token, "可使用 component_access_token"
//     (https://developers.weixin.qq.com/doc/oplatform/openApi/ticket-token/api_getpreauthcode.html,
//     .../api_getauthorizeraccesstoken.html).
//   - The third-party jscode2session documents component_access_token only, in both generations
//     (https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/login/api_thirdpartycode2session.html).
//   - Everything called for an app (wxa/*, cgi-bin/wxopen/*, cgi-bin/component/setprivacysetting) and the
//     platform's template library take access_token only.
//
// A request without the parameter WeChat reads is 41001 "access_token
// missing", whatever else it carries (community reports of
// api_create_preauthcode called without the token in the query).
const (
	paramAccessToken    = "access_token"
	paramComponentToken = "component_access_token"
)

// componentAPIToken is the token of a component API call: either name.
func componentAPIToken(r *http.Request) string {
	if t := r.URL.Query().Get(paramComponentToken); t != "" {
		return t
	}
	return r.URL.Query().Get(paramAccessToken)
}

// checkComponentToken checks a component token. A valid token of an app (an
// authorizer's or the public mini program's) where the component token
// belongs is 48001 "api unauthorized", as WeChat answered for an
// authorizer token sent to api_create_preauthcode (community, 2026).
func (s *Sim) checkComponentToken(tok string) int {
	code := s.compTokens.check(tok, s.opts.Now())
	if code == codeInvalidCredential && s.isAppToken(tok) {
		return codeAPIUnauthorized
	}
	return code
}

// isAppToken reports whether tok is a valid token of an authorizer or of a
// public app.
func (s *Sim) isAppToken(tok string) bool {
	now := s.opts.Now()
	for _, a := range s.authorizers {
		if a.authorized && a.tokens.check(tok, now) == 0 {
			return true
		}
	}
	return s.validPublicToken(tok)
}
