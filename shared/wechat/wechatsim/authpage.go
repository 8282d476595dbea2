package wechatsim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Errors of the simulated authorization page.
var (
	ErrPreAuthCode = errors.New("pre-auth code invalid or expired")
	ErrAuthType    = errors.New("auth_type does not allow this kind of account")
)

// ScanAuthorization plays the admin scanning our authorization link
// (componentloginpage or bindcomponent) and confirming with account appid.
// It checks the pre-auth code and the auth_type, grants the account's
// permission sets (without code management (18) when the account has
// given it to another platform), and returns the redirect WeChat would
// send the browser to: redirect_uri plus auth_code and expires_in.
func (s *Sim) ScanAuthorization(authURL, appid string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("component_appid") != s.opts.ComponentAppID {
		return "", errors.New("authorization link for another platform")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pre := q.Get("pre_auth_code")
	exp, ok := s.preAuth[pre]
	if !ok || !s.opts.Now().Before(exp) {
		return "", ErrPreAuthCode
	}
	a, ok := s.authorizers[appid]
	if !ok {
		return "", errUnknownAccount
	}
	// auth_type=1 lists official accounts only; the page offers nothing
	// else. Type 2 (mini programs) still lets a test "choose" an official
	// account, which our diagnosis must catch.
	if q.Get("auth_type") == "1" && a.MiniProgram {
		return "", ErrAuthType
	}
	if a.AuthorizedElsewhere {
		a.Permissions = slices.DeleteFunc(slices.Clone(a.Permissions), func(id int) bool { return id == 18 })
	}
	code, err := s.authorizeLocked(appid)
	if err != nil {
		return "", err
	}
	s.authCodes[code].preAuth = pre
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		return "", errors.New("authorization link without a valid redirect_uri")
	}
	rq := redirect.Query()
	rq.Set("auth_code", code)
	rq.Set("expires_in", "600")
	redirect.RawQuery = rq.Encode()
	return redirect.String(), nil
}

// ConfirmAuthorization plays the admin confirming on WeChat's page and WeChat's
// signed push of the authorized event to the authorization event URL, as
// WeChat does before it redirects the browser (when a push URL is set);
// it returns the redirect to our callback, not yet followed.
func (s *Sim) ConfirmAuthorization(ctx context.Context, authURL, appid string) (redirect string, pushed bool, err error) {
	redirect, err = s.ScanAuthorization(authURL, appid)
	if err != nil {
		return "", false, err
	}
	s.mu.Lock()
	push := s.pushURL
	s.mu.Unlock()
	if push == "" {
		return redirect, false, nil
	}
	if err := s.PushAuthEvent(ctx, push, "authorized", appid, authCodeOf(redirect)); err != nil {
		return "", false, fmt.Errorf("push authorized event: %w", err)
	}
	return redirect, true, nil
}

// PreAuthCodeOf returns the pre-auth code an authorization code came from.
func (s *Sim) PreAuthCodeOf(authCode string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.authCodes[authCode]; ok {
		return c.preAuth
	}
	return ""
}

// ExpireAuthCode makes an authorization code expire now (tests of slow
// admins).
func (s *Sim) ExpireAuthCode(authCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.authCodes[authCode]; ok {
		c.expiry = s.opts.Now().Add(-time.Second)
	}
}
