package wechatsim_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

// TestAuthorizationPageOpensOnlyFromTheStartPageDomain: like WeChat, the
// simulated authorization page opens only when the click came from a page
// on the registered start-page domain (the Referer's host) and redirects
// only to that domain; a refused click leaves the pre-auth code usable.
func TestAuthorizationPageOpensOnlyFromTheStartPageDomain(t *testing.T) {
	sim, c, _ := start(t)
	ctx := context.Background()
	tok, err := c.ComponentToken(ctx, sim.IssueTicket())
	if err != nil {
		t.Fatal(err)
	}
	pre, err := c.CreatePreAuthCode(ctx, wechat.StaticToken(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: "wx1111111111111111", MiniProgram: true, Permissions: []int{17, 18, 30}})
	link := func(page, redirect string) string {
		return page + "?" + url.Values{"component_appid": {"wxcomp"}, "pre_auth_code": {pre.Code}, "redirect_uri": {redirect},
			"auth_type": {"2"}}.Encode()
	}
	ours := link(wechatsim.PCAuthPage, "https://api.example.test/wechat/auth/callback?state=s")
	cases := []struct {
		name, domain, authURL, referer string
	}{
		{"no start-page domain registered", "", ours, "https://api.example.test/"},
		{"typed into the address bar (no Referer)", "api.example.test", ours, ""},
		{"clicked on the CRM console's domain", "api.example.test", ours, "https://crm.example.test/console"},
		{"clicked on a subdomain", "api.example.test", ours, "https://www.api.example.test/"},
		{"redirecting to another domain", "api.example.test",
			link(wechatsim.PCAuthPage, "https://crm.example.test/callback"), "https://api.example.test/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetStartPageDomain(tc.domain)
			if _, err := sim.ScanAuthorization(tc.authURL, tc.referer, "wx1111111111111111"); !errors.Is(err, wechatsim.ErrStartPageDomain) {
				t.Fatalf("got %v, want WeChat's start-page domain refusal", err)
			}
		})
	}
	sim.SetStartPageDomain("api.example.test")
	if _, err := sim.ScanAuthorization("https://crm.example.test/componentloginpage?"+url.Values{"pre_auth_code": {pre.Code}}.Encode(),
		"https://api.example.test/", "wx1111111111111111"); err == nil {
		t.Fatal("a page that is not WeChat's authorized")
	}
	redirect, err := sim.ScanAuthorization(ours, "https://API.example.test/", "wx1111111111111111")
	if err != nil {
		t.Fatalf("the start page's own click: %v", err)
	}
	if u, _ := url.Parse(redirect); u.Host != "api.example.test" || u.Query().Get("auth_code") == "" || u.Query().Get("state") != "s" {
		t.Fatalf("redirect %s", redirect)
	}
}

// TestAStartPageServedLocallyCountsAsTheStartPageDomain: a local stack's
// start page, on the address where this machine reaches the start-page
// domain, opens the authorization page; another host or port does not.
func TestAStartPageServedLocallyCountsAsTheStartPageDomain(t *testing.T) {
	sim, c, _ := start(t)
	ctx := context.Background()
	tok, err := c.ComponentToken(ctx, sim.IssueTicket())
	if err != nil {
		t.Fatal(err)
	}
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: "wx1111111111111111", MiniProgram: true, Permissions: []int{17, 18, 30}})
	sim.SetStartPageDomain("api.example.test")
	sim.ServeStartPageDomainAt("http://127.0.0.1:8080")
	link := func() string {
		pre, err := c.CreatePreAuthCode(ctx, wechat.StaticToken(tok.AccessToken))
		if err != nil {
			t.Fatal(err)
		}
		return wechatsim.PCAuthPage + "?" + url.Values{"component_appid": {"wxcomp"}, "pre_auth_code": {pre.Code},
			"redirect_uri": {"https://api.example.test/wechat/auth/callback?state=s"}, "auth_type": {"2"}}.Encode()
	}
	for _, referer := range []string{"http://127.0.0.1:9090/", "http://localhost:8080/", "https://127.0.0.1:8080/"} {
		if _, err := sim.ScanAuthorization(link(), referer, "wx1111111111111111"); !errors.Is(err, wechatsim.ErrStartPageDomain) {
			t.Errorf("a click from %s: %v, want WeChat's start-page domain refusal", referer, err)
		}
	}
	if _, err := sim.ScanAuthorization(link(), "http://127.0.0.1:8080/", "wx1111111111111111"); err != nil {
		t.Fatalf("the local start page's click: %v", err)
	}
}
