package wechatsim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// WeChat's authorization pages, which ScanAuthorization plays: the PC page
// with a QR code, and the mobile page (legacyMobileAuthPage is its older
// address) that works only inside WeChat.
const (
	PCAuthPage           = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
	MobileAuthPage       = "https://open.weixin.qq.com/wxaopen/safe/bindcomponent"
	legacyMobileAuthPage = "https://mp.weixin.qq.com/safe/bindcomponent"
)

// Errors of the simulated authorization page.
var (
	ErrPreAuthCode = errors.New("pre-auth code invalid or expired")
	ErrAuthType    = errors.New("auth_type does not allow this kind of account")
	// ErrStartPageDomain is WeChat's refusal of a link opened from a page
	// not on the registered start-page domain (or without a Referer, as
	// when typed into the address bar or redirected to by a server), or
	// whose redirect_uri is on another domain. WeChat shows it verbatim.
	ErrStartPageDomain = errors.New("请确认授权入口页所在域名，与授权后回调页所在域名相同，并且，此两者都必须与申请第三方平台时填写的授权发起页域名相同")
)

// SetStartPageDomain plays the operator saving the authorization start-page
// domain (授权发起页域名) in the console.
func (s *Sim) SetStartPageDomain(domain string) {
	s.mu.Lock()
	s.startDomain = domain
	s.mu.Unlock()
}

// checkStartPage refuses, as WeChat does, an authorization link opened
// from elsewhere than the start-page domain or redirecting elsewhere:
// WeChat compares the host of the request's Referer and of redirect_uri
// with the registered domain
// (https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/troubleshooting/authorization_troubleshooting.html).
// s.mu is held.
func (s *Sim) checkStartPage(referer, redirectURI string) error {
	entry, back := hostOf(referer), hostOf(redirectURI)
	fromStartPage := strings.EqualFold(entry, s.startDomain) || (s.startDomainAt != "" && sameOrigin(referer, s.startDomainAt))
	if s.startDomain == "" || !fromStartPage || !strings.EqualFold(back, s.startDomain) {
		if entry == "" {
			entry = "空" // what WeChat's page shows for a missing Referer
		}
		return fmt.Errorf("%w. 授权入口页所在域名：%s; redirect_uri domain %q; registered start-page domain %q",
			ErrStartPageDomain, entry, back, s.startDomain)
	}
	return nil
}

// ServeStartPageDomainAt plays an admin's machine that reaches the
// registered start-page domain at base (a local stack's own address, as a
// hosts entry would): a click from a page on base counts as one from the
// start-page domain, and the simulator's authorization page sends the
// browser back to base. Other hosts are still refused.
func (s *Sim) ServeStartPageDomainAt(base string) {
	s.mu.Lock()
	s.startDomainAt = strings.TrimRight(base, "/")
	s.mu.Unlock()
}

// sameOrigin reports whether rawURL is on base's scheme, host and port.
func sameOrigin(rawURL, base string) bool {
	u, err := url.Parse(rawURL)
	b, berr := url.Parse(base)
	return err == nil && berr == nil && u.Host != "" && strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host)
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// ScanAuthorization plays the admin clicking our authorization link
// (componentloginpage or bindcomponent) on the page referer, scanning and
// confirming with account appid. referer is the Referer header the
// admin's browser sent with the click ("" for none). It checks the
// start-page domain, the pre-auth code and the auth_type, grants the
// account's permission sets (without code management (18) when the
// account has given it to another platform), and returns the redirect
// WeChat would send the browser to: redirect_uri plus auth_code and
// expires_in.
func (s *Sim) ScanAuthorization(authURL, referer, appid string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	if page := u.Scheme + "://" + u.Host + u.Path; !s.isAuthPage(page) {
		return "", fmt.Errorf("not a WeChat authorization page: %s", page)
	}
	q := u.Query()
	if q.Get("component_appid") != s.opts.ComponentAppID {
		return "", errors.New("authorization link for another platform")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkStartPage(referer, q.Get("redirect_uri")); err != nil {
		return "", err
	}
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

// isAuthPage reports whether page is one of WeChat's authorization pages,
// or the simulator's own page playing it (AuthPagesBase).
func (s *Sim) isAuthPage(page string) bool {
	switch page {
	case PCAuthPage, MobileAuthPage, legacyMobileAuthPage:
		return true
	}
	if s.URL == "" {
		return false
	}
	return page == s.URL+pcAuthPath || page == s.URL+mobileAuthPath
}

// ConfirmAuthorization plays the admin confirming on WeChat's page (see
// ScanAuthorization) and WeChat's signed push of the authorized event to
// the authorization event URL, as WeChat does before it redirects the
// browser (when a push URL is set); it returns the redirect to our
// callback, not yet followed.
func (s *Sim) ConfirmAuthorization(ctx context.Context, authURL, referer, appid string) (redirect string, pushed bool, err error) {
	redirect, err = s.ScanAuthorization(authURL, referer, appid)
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
