package wechatsim

import (
	"net/http"
	"net/url"
	"time"
)

type jsCode struct {
	appid, openid, unionid string
	expiry                 time.Time
	used                   bool
}

// AddPublicApp registers the platform's own mini program and its secret.
//
// The platform set its public mini program up by hand in WeChat's admin
// console: it starts with the service categories the product's own
// mini programs get (Home Services, Equipment Management).
func (s *Sim) AddPublicApp(appid, secret string) {
	s.mu.Lock()
	s.publicApps[appid] = secret
	s.mu.Unlock()
	c := s.code()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.prep(appid)
	p.categories[21], p.categories[31] = 2, 3
}

// IssueJSCode is what wx.login returns inside a mini program: a one-time
// code for openid (valid 5 minutes).
func (s *Sim) IssueJSCode(appid, openid, unionid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := "0" + randomHex(15)
	s.jsCodes[code] = &jsCode{appid: appid, openid: openid, unionid: unionid, expiry: s.opts.Now().Add(5 * time.Minute)}
	return code
}

// useCode consumes a js_code of appid: 40029 unknown/expired/other app,
// 40163 already used, 45011 over the per-user minute quota.
func (s *Sim) useCode(appid, code string) (*jsCode, int) {
	c, ok := s.jsCodes[code]
	if !ok || c.appid != appid || !s.opts.Now().Before(c.expiry) {
		return nil, codeInvalidJSCode
	}
	if c.used {
		return nil, codeJSCodeUsed
	}
	c.used = true
	key := appid + "/" + c.openid
	now := s.opts.Now()
	recent := s.logins[key][:0]
	for _, t := range s.logins[key] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.opts.LoginQuotaPerMinute {
		s.logins[key] = recent
		return nil, codeMinuteQuota
	}
	s.logins[key] = append(recent, now)
	return c, 0
}

func session(c *jsCode) map[string]any {
	out := map[string]any{"openid": c.openid, "session_key": randomHex(12)}
	if c.unionid != "" {
		out["unionid"] = c.unionid
	}
	return out
}

// componentJSCode2Session is the third party's code2session: every
// parameter in the query, the token under component_access_token only
// (api_thirdpartycode2session's page).
func (s *Sim) componentJSCode2Session(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	if c := s.checkComponentToken(q.Get(paramComponentToken)); c != 0 {
		return nil, c
	}
	if c := s.checkComponentAppID(q.Get("component_appid"), codeInvalidAppID); c != 0 {
		return nil, c
	}
	a, c := s.authorizer(q.Get("appid"))
	if c != 0 {
		return nil, c
	}
	if c := checkLoginGrant(q); c != 0 {
		return nil, c
	}
	jc, code := s.useCode(a.AppID, q.Get("js_code"))
	if code != 0 {
		return nil, code
	}
	return session(jc), 0
}

// checkLoginGrant checks what both code2sessions need besides the app:
// grant_type=authorization_code (40002 "invalid grant_type" otherwise) and
// a js_code (41008 "missing code").
func checkLoginGrant(q url.Values) int {
	if q.Get("grant_type") != "authorization_code" {
		return codeInvalidGrantType
	}
	if q.Get("js_code") == "" {
		return codeJSCodeMissing
	}
	return 0
}

// publicApp checks the appid and secret a public app's call carries in
// its query: 41002 / 41004 when missing, 40013 / 40125 when wrong.
func (s *Sim) publicApp(q url.Values) (string, int) {
	appid, secret := q.Get("appid"), q.Get("secret")
	switch {
	case appid == "":
		return "", codeAppIDMissing
	case secret == "":
		return "", codeAppSecretMissing
	}
	want, ok := s.publicApps[appid]
	if !ok {
		return "", codeInvalidAppID
	}
	if secret != want {
		return "", codeInvalidAppSecret
	}
	return appid, 0
}

func (s *Sim) jsCode2Session(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	appid, c := s.publicApp(q)
	if c != 0 {
		return nil, c
	}
	if c := checkLoginGrant(q); c != 0 {
		return nil, c
	}
	jc, code := s.useCode(appid, q.Get("js_code"))
	if code != 0 {
		return nil, code
	}
	return session(jc), 0
}

// appToken issues the public mini program's own access token
// (grant_type=client_credential, else 40002).
func (s *Sim) appToken(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		return nil, codeInvalidGrantType
	}
	appid, c := s.publicApp(q)
	if c != 0 {
		return nil, c
	}
	if s.publicTokens[appid] == nil {
		s.publicTokens[appid] = newTokenSet()
	}
	tok := s.publicTokens[appid].issue("apptoken@@@", s.opts.Now(), s.opts.TokenTTL, s.opts.OldTokenGrace)
	return expiring("access_token", tok, s.opts.TokenTTL), 0
}

// validPublicToken reports whether tok is a public app's valid token.
func (s *Sim) validPublicToken(tok string) bool {
	for _, ts := range s.publicTokens {
		if ts.check(tok, s.opts.Now()) == 0 {
			return true
		}
	}
	return false
}
