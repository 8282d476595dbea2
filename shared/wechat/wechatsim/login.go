package wechatsim

import (
	"net/http"
	"time"
)

type jsCode struct {
	appid, openid, unionid string
	expiry                 time.Time
	used                   bool
}

// AddPublicApp registers the platform's own mini program and its secret.
func (s *Sim) AddPublicApp(appid, secret string) {
	s.mu.Lock()
	s.publicApps[appid] = secret
	s.mu.Unlock()
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
		return nil, 40029
	}
	if c.used {
		return nil, 40163
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
		return nil, 45011
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

func (s *Sim) componentJSCode2Session(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	if q.Get("component_appid") != s.opts.ComponentAppID {
		return nil, 40013
	}
	if c := s.compTokens.check(q.Get("component_access_token"), s.opts.Now()); c != 0 {
		return nil, c
	}
	a, ok := s.authorizers[q.Get("appid")]
	if !ok || !a.authorized {
		return nil, 61003
	}
	c, code := s.useCode(a.AppID, q.Get("js_code"))
	if code != 0 {
		return nil, code
	}
	return session(c), 0
}

func (s *Sim) jsCode2Session(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	secret, ok := s.publicApps[q.Get("appid")]
	if !ok {
		return nil, 40013
	}
	if q.Get("secret") != secret {
		return nil, 40125
	}
	c, code := s.useCode(q.Get("appid"), q.Get("js_code"))
	if code != 0 {
		return nil, code
	}
	return session(c), 0
}

// appToken issues the public mini program's own access token.
func (s *Sim) appToken(r *http.Request, _ []byte) (any, int) {
	q := r.URL.Query()
	secret, ok := s.publicApps[q.Get("appid")]
	if !ok {
		return nil, 40013
	}
	if q.Get("secret") != secret {
		return nil, 40125
	}
	if s.publicTokens[q.Get("appid")] == nil {
		s.publicTokens[q.Get("appid")] = newTokenSet()
	}
	tok := s.publicTokens[q.Get("appid")].issue("apptoken@@@", s.opts.Now(), s.opts.TokenTTL, s.opts.OldTokenGrace)
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
