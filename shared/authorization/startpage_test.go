package authorization_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/authorization"
	"wxchannel/shared/binding"
	"wxchannel/shared/config"
	"wxchannel/shared/local/browser"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat/wechatsim"
)

// apiOrigin is the API domain's origin, which WeChat's console holds as the
// authorization start-page domain.
func (w *world) apiOrigin(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(w.Deps.Config.APIBaseURL)
	if err != nil || u.Host == "" {
		t.Fatalf("API base URL %q", w.Deps.Config.APIBaseURL)
	}
	return u
}

// TestConnectingGoesThroughTheStartPageOnTheAPIDomain: the console gets a
// link to our start page on the API domain, not WeChat's links; the page,
// opened, begins the flow and links to WeChat's page with a redirect back
// to the API domain; the click carries our origin as the Referer, which
// WeChat checks; the admin confirms and the callback binds.
func TestConnectingGoesThroughTheStartPageOnTheAPIDomain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	api := w.apiOrigin(t)
	r := w.Must(w.Do("POST", "/admin/miniprogram/authorization", w.token(t, "acme", staffauth.RoleAdmin), nil), 201)
	start, err := url.Parse(r.Str("start_url"))
	if err != nil || start.Scheme != "https" || start.Host != api.Host || start.Path != authorization.StartPath || start.Query().Get("t") == "" {
		t.Fatalf("start link %s", r.Raw)
	}
	if r.Str("pc_url") != "" || r.Str("mobile_url") != "" {
		t.Fatalf("the console was given WeChat's links, which WeChat refuses from its domain: %s", r.Raw)
	}
	expires, err := time.Parse(time.RFC3339, r.Str("expires_at"))
	if err != nil || !expires.Equal(w.Clock.Now().Add(authorization.StartLinkTTL).Truncate(time.Second)) {
		t.Fatalf("expires_at %q, want %s", r.Str("expires_at"), authorization.StartLinkTTL)
	}
	if n := w.Sim.Calls("api_create_preauthcode"); n != 0 {
		t.Fatalf("the link created %d pre-auth codes before the page was opened", n)
	}

	page := w.OpenStartPage(start.String(), testenv.DesktopBrowser)
	w.Must(page.Reply, 200)
	if page.PCURL == "" || page.MobileURL == "" || w.Sim.Calls("api_create_preauthcode") != 1 {
		t.Fatalf("page links %q %q, %d pre-auth codes", page.PCURL, page.MobileURL, w.Sim.Calls("api_create_preauthcode"))
	}
	for _, link := range []string{page.PCURL, page.MobileURL} {
		redirect, _ := url.Parse(mustQuery(link, "redirect_uri"))
		if redirect.Host != api.Host || redirect.Path != authorization.CallbackPath {
			t.Fatalf("WeChat would redirect to %s, not to the start-page domain", redirect)
		}
	}
	if ref := page.Referer(page.PCURL); ref != api.Scheme+"://"+api.Host+"/" {
		t.Fatalf("the click sends Referer %q, want only our origin", ref)
	}

	callback, pushed, err := w.Sim.ConfirmAuthorization(ctx, page.PCURL, page.Referer(page.PCURL), "wxacme0000000001")
	if err != nil || !pushed {
		t.Fatalf("WeChat refused the start page's link: %v (pushed %v)", err, pushed)
	}
	u, _ := url.Parse(callback)
	status, res := get(t, w.Base+u.RequestURI())
	if status != 200 || !res.Bound || res.AppID != "wxacme0000000001" {
		t.Fatalf("callback %d %+v", status, res)
	}
	b, err := binding.NewStore(w.DB).ByTenant(ctx, "acme")
	if err != nil || !b.Bound() || b.AppID != "wxacme0000000001" {
		t.Fatalf("binding %+v %v", b, err)
	}
}

// TestWeChatRefusesItsPageOpenedAnywhereButTheStartPage: the links on our
// page work only as clicked there; the same link typed into the address
// bar, clicked on the CRM console's domain or from a page that sends no
// Referer is refused, as WeChat refuses it.
func TestWeChatRefusesItsPageOpenedAnywhereButTheStartPage(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	page := w.start(t, "acme")
	noReferrer := page.Browser()
	noReferrer.Header = noReferrer.Header.Clone()
	noReferrer.Header.Set("Referrer-Policy", "no-referrer")
	console := browser.Page{URL: "https://crm.example.test/console/mini-program", Header: map[string][]string{}}
	for name, referer := range map[string]string{
		"typed into the address bar":            "",
		"clicked on the CRM console":            console.Referer(page.PCURL),
		"clicked on a page sending no Referer":  noReferrer.Referer(page.PCURL),
		"clicked on a subdomain of the API one": "https://www." + w.apiOrigin(t).Host + "/",
	} {
		if _, err := w.Sim.ScanAuthorization(page.PCURL, referer, "wxacme0000000001"); !errors.Is(err, wechatsim.ErrStartPageDomain) {
			t.Errorf("%s (Referer %q): %v, want WeChat's refusal", name, referer, err)
		}
	}
	status, res := get(t, w.authorize(t, page, "wxacme0000000001"))
	if status != 200 || !res.Bound {
		t.Fatalf("the click on the start page after the refusals: %d %+v", status, res)
	}
}

// startToken is the token of a start link for the tenant's admin.
func (w *world) startToken(t *testing.T, tenant string) string {
	t.Helper()
	return mustQuery(w.StartLink(w.token(t, tenant, staffauth.RoleAdmin)), "t")
}

// openStart opens the start page with the raw token t as a desktop browser.
func (w *world) openStart(t *testing.T, token string) testenv.StartPage {
	t.Helper()
	return w.OpenStartPage(w.Deps.Config.APIBaseURL+authorization.StartPath+"?"+url.Values{"t": {token}}.Encode(), testenv.DesktopBrowser)
}

// mustRefuse fails t unless page is an error page with status whose text
// says what happened, without links to WeChat.
func mustRefuse(t *testing.T, page testenv.StartPage, status int, says string) {
	t.Helper()
	if page.Status != status || page.PCURL != "" || page.MobileURL != "" || !strings.Contains(page.Raw, says) ||
		!strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(page.Raw, "Connect WeChat Mini Program") {
		t.Fatalf("%d %s %s, want an HTML page %d saying %q and how to start again", page.Status, page.Header.Get("Content-Type"),
			page.Raw, status, says)
	}
}

// TestExpiredStartLinkSaysSoAndBeginsNothing: a start link works for
// StartLinkTTL; later the page is 410 with the way to a new link, and no
// pre-auth code is created.
func TestExpiredStartLinkSaysSoAndBeginsNothing(t *testing.T) {
	w := newWorld(t)
	token := w.startToken(t, "acme")
	w.Clock.Advance(authorization.StartLinkTTL - time.Second)
	w.Must(w.openStart(t, token).Reply, 200)
	w.Clock.Advance(time.Second)
	before := w.Sim.Calls("api_create_preauthcode")
	mustRefuse(t, w.openStart(t, token), 410, "This link has expired")
	if n := w.Sim.Calls("api_create_preauthcode") - before; n != 0 {
		t.Fatalf("an expired link created %d pre-auth codes", n)
	}
}

// signAs signs claims as the state key signs its tokens, without the start
// link's derived key: a token "for another purpose".
func signAs(key string, claims string) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestForgedTamperedAndMisusedStartLinksAreRefused: only a start link we
// signed for start links opens the page. One whose tenant was changed,
// whose signature was altered or re-spelled, a state (signed with the same
// key for the callback) or start claims signed the way states are, are all
// 400; nothing is created. A start link is no state either.
func TestForgedTamperedAndMisusedStartLinksAreRefused(t *testing.T) {
	w := newWorld(t)
	token := w.startToken(t, "acme")
	payload, sig, _ := strings.Cut(token, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(payload)
	otherTenant := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"acme"`, `"globex"`, 1)))
	state := mustQuery(mustQuery(w.start(t, "acme").PCURL, "redirect_uri"), "state")
	stateKey := w.Vars[config.SecretStateSigningKey]
	before := w.Sim.Calls("api_create_preauthcode")
	for name, forged := range map[string]string{
		"no token":                           "",
		"garbage":                            "abc",
		"tenant changed":                     otherTenant + "." + sig,
		"signature altered":                  payload + "." + sig[:len(sig)-2] + "AA",
		"signature re-spelled":               payload + "." + testenv.Respell(sig),
		"signature dropped":                  payload,
		"line break inside":                  token[:10] + "\n" + token[10:],
		"a state of the callback":            state,
		"start claims signed as a state":     signAs(stateKey, string(claims)),
		"globex's claims signed as a state":  signAs(stateKey, strings.Replace(string(claims), `"acme"`, `"globex"`, 1)),
		"start claims signed with a new key": signAs(strings.Repeat("k", 40), string(claims)),
	} {
		t.Run(name, func(t *testing.T) { mustRefuse(t, w.openStart(t, forged), 400, "This link is not valid") })
	}
	if n := w.Sim.Calls("api_create_preauthcode") - before; n != 0 {
		t.Fatalf("refused links created %d pre-auth codes", n)
	}
	status, res := get(t, w.Base+authorization.CallbackPath+"?"+url.Values{"state": {token}, "auth_code": {"x"}}.Encode())
	if status != 400 || res.Error.Code != "invalid_state" {
		t.Fatalf("a start link used as the callback's state: %d %+v", status, res.Error)
	}
}

// TestAStartLinkConnectsOnlyItsOwnTenant: the tenant comes from the signed
// link alone. Another tenant's admin opening it (with their own staff
// token) connects the mini program to the link's tenant, never to theirs.
func TestAStartLinkConnectsOnlyItsOwnTenant(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	link := w.StartLink(w.token(t, "acme", staffauth.RoleAdmin))
	page := w.OpenStartPage(link, testenv.DesktopBrowser, "Authorization", "Bearer "+w.token(t, "globex", staffauth.RoleAdmin))
	w.Must(page.Reply, 200)
	status, res := get(t, w.authorize(t, page, "wxacme0000000001"))
	if status != 200 || !res.Bound {
		t.Fatalf("callback %d %+v", status, res)
	}
	if b, err := binding.NewStore(w.DB).ByTenant(ctx, "acme"); err != nil || b.AppID != "wxacme0000000001" {
		t.Fatalf("acme's binding %+v %v", b, err)
	}
	if b, err := binding.NewStore(w.DB).ByTenant(ctx, "globex"); err == nil {
		t.Fatalf("globex got a binding from acme's link: %+v", b)
	}
}

// TestOpeningTheStartLinkAgainBeginsAFreshFlow: each opening creates its
// own pre-auth code and single-use state; an earlier page still works.
func TestOpeningTheStartLinkAgainBeginsAFreshFlow(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	link := w.StartLink(w.token(t, "acme", staffauth.RoleAdmin))
	first := w.OpenStartPage(link, testenv.DesktopBrowser)
	again := w.OpenStartPage(link, testenv.DesktopBrowser)
	w.Must(first.Reply, 200)
	w.Must(again.Reply, 200)
	if mustQuery(first.PCURL, "pre_auth_code") == mustQuery(again.PCURL, "pre_auth_code") || first.PCURL == again.PCURL {
		t.Fatal("opening the link again reused the flow")
	}
	if status, res := get(t, w.authorize(t, first, "wxacme0000000001")); status != 200 || !res.Bound {
		t.Fatalf("the first page's flow: %d %+v", status, res)
	}
}

var styleElement = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// TestStartPageSecurityHeaders: the start page and its error pages (a
// WeChat failure too, which asks to try again) run no script, allow only
// their own style sheet (by hash), cannot be framed or cached, and send
// WeChat our origin as the Referer but never the path with the token.
func TestStartPageSecurityHeaders(t *testing.T) {
	w := newWorld(t)
	ok := w.start(t, "acme")
	token := w.startToken(t, "acme")
	w.Sim.InjectError("api_create_preauthcode", -1, 10)
	failing := w.openStart(t, token)
	w.Sim.ClearFaults()
	if failing.Status < 500 || failing.PCURL != "" || !strings.Contains(failing.Raw, "Try again") {
		t.Fatalf("WeChat failing when the page opens: %d %s", failing.Status, failing.Raw)
	}
	w.Clock.Advance(authorization.StartLinkTTL)
	expired := w.openStart(t, token)
	pages := map[string]testenv.StartPage{"start page": ok, "expired": expired, "invalid": w.openStart(t, "x"), "WeChat failing": failing}
	for name, page := range pages {
		t.Run(name, func(t *testing.T) {
			h := page.Header
			for header, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "X-Frame-Options": "DENY",
				"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
				if got := h.Get(header); got != want {
					t.Errorf("%s: %q, want %q", header, got, want)
				}
			}
			if p := h.Get("Referrer-Policy"); p != "origin" && p != "strict-origin" && p != "strict-origin-when-cross-origin" {
				t.Errorf("Referrer-Policy %q would not send WeChat our origin (or would send the token)", p)
			}
			csp := h.Get("Content-Security-Policy")
			style := styleElement.FindStringSubmatch(page.Raw)
			if len(style) != 2 {
				t.Fatalf("no style sheet in %s", page.Raw)
			}
			sum := sha256.Sum256([]byte(style[1]))
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
				"style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") || strings.Contains(page.Raw, "<script") {
				t.Errorf("the page may run scripts: %q", csp)
			}
		})
	}
	if ref := ok.Referer(ok.PCURL); strings.Contains(ref, "t=") || strings.Contains(ref, authorization.StartPath) {
		t.Fatalf("the token leaks to WeChat in the Referer %q", ref)
	}
}

// TestStartPageOffersTheLinkForTheDevice: inside WeChat on a phone the
// mobile link (bindcomponent, which works only there) comes first; on a
// computer, in WeChat's desktop app or in another phone browser, the QR
// code page does. Both links are always there.
func TestStartPageOffersTheLinkForTheDevice(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name, userAgent, device string
		mobileFirst             bool
	}{
		{"WeChat on a phone", testenv.WeChatBrowser, "wechat", true},
		{"a computer", testenv.DesktopBrowser, "computer", false},
		{"WeChat's Windows app", "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0 " +
			"MicroMessenger/7.0.20.1781(0x6700143B) NetType/WIFI MiniProgramEnv/Windows WindowsWechat/WMPF", "computer", false},
		{"a phone browser outside WeChat", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Chrome/126.0 Mobile Safari/537.36", "phone", false},
	}
	link := w.StartLink(w.token(t, "acme", staffauth.RoleAdmin))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := w.OpenStartPage(link, tc.userAgent)
			w.Must(page.Reply, 200)
			if !strings.Contains(page.Raw, `data-device="`+tc.device+`"`) {
				t.Fatalf("not taken for %s: %s", tc.device, page.Raw)
			}
			links := page.Browser().Links()
			if len(links) != 2 || page.PCURL == "" || page.MobileURL == "" {
				t.Fatalf("links %+v", links)
			}
			first := links[0].Href
			if tc.mobileFirst != (first == page.MobileURL) || !strings.HasSuffix(page.MobileURL, "#wechat_redirect") {
				t.Fatalf("first link %s", first)
			}
		})
	}
}
