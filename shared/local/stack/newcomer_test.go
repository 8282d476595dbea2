package stack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/authorization"
	"wxchannel/shared/local/browser"
	"wxchannel/shared/local/stack"
)

// desktopBrowser is the User-Agent of a browser on a computer.
const desktopBrowser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"

// TestANewcomerConnectsTheMiniProgramByClickingOnTheDevServer follows, with
// plain HTTP and no host mapping, what an ordinary browser does on the dev
// server `make run` starts: the start link and the start page are on the
// server's own address, the start page leads to the simulator's
// authorization page, which lists the seeded mini program, takes the
// confirmation and sends the browser back to our callback there; the
// callback shows a page and the tenant is bound. WeChat is still told the
// public base (redirect_uri).
func TestANewcomerConnectsTheMiniProgramByClickingOnTheDevServer(t *testing.T) {
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Addr: "127.0.0.1:0", LogLevel: "error"}, functions.Mount)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if st.Sim == nil {
		t.Skip("the newcomer's path plays WeChat with the simulator")
	}
	b := newBrowser(t)

	// The console asks for the start link.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.URL+"/admin/miniprogram/authorization", nil)
	req.Header.Set("Authorization", "Bearer "+st.AdminToken)
	var link authorization.StartLink
	b.json(req, http.StatusCreated, &link)
	if !strings.HasPrefix(link.URL, st.URL+authorization.StartPath+"?t=") {
		t.Fatalf("the start link %s is not on the dev server", link.URL)
	}

	// The start page, on the dev server; its buttons lead to the
	// simulator's page, and WeChat is still told the public callback.
	start := b.page(link.URL, "", http.StatusOK)
	pc, mobile := linkByID(start, "wechat-pc"), linkByID(start, "wechat-mobile")
	if !strings.HasPrefix(pc, st.Sim.URL+"/cgi-bin/componentloginpage?") || !strings.HasPrefix(mobile, st.Sim.URL+"/wxaopen/safe/bindcomponent?") {
		t.Fatalf("the start page links to %s and %s, not the simulator's pages", pc, mobile)
	}
	if u, _ := url.Parse(pc); !strings.HasPrefix(u.Query().Get("redirect_uri"), stack.PublicAPIBase+authorization.CallbackPath) {
		t.Errorf("WeChat is told to redirect to %s", u.Query().Get("redirect_uri"))
	}

	// Opened from another host than the start page, the page refuses as
	// WeChat does.
	other := strings.Replace(st.URL, "127.0.0.1", "localhost", 1) + "/"
	if refused := b.page(pc, other, http.StatusBadRequest); !strings.Contains(refused.Body, "授权入口页所在域名") {
		t.Errorf("a click from %s: %s", other, refused.Body)
	}

	// The click from the start page: the simulator's page lists the seeded
	// enterprise mini program.
	auth := b.page(pc, start.Referer(pc), http.StatusOK)
	if !strings.Contains(auth.Body, stack.DemoMiniProgram.Name) || !strings.Contains(auth.Body, stack.DemoMiniProgram.AppID) {
		t.Fatalf("the authorization page does not offer the demo mini program:\n%s", auth.Body)
	}
	action, visit := formOf(t, auth.Body)

	// Confirm: the form posts to the page's own address with the Referer
	// a browser sends, and the simulator redirects to our callback here.
	form := url.Values{"visit": {visit}, "appid": {stack.DemoMiniProgram.AppID}}
	confirm, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.Sim.URL+action, strings.NewReader(form.Encode()))
	confirm.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	confirm.Header.Set("Referer", auth.Referer(st.Sim.URL+action))
	resp := b.do(confirm, http.StatusFound)
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, st.URL+authorization.CallbackPath+"?") {
		t.Fatalf("redirected to %s, not the dev server's callback", callback)
	}

	// The callback answers the browser with a page and a way back.
	result := b.page(callback, "", http.StatusOK)
	if !strings.Contains(result.Body, "is connected") || !strings.Contains(result.Body, stack.DemoMiniProgram.AppID) ||
		linkByID(result, "back-to-console") != authorization.ConsoleChannelPath {
		t.Errorf("the callback's page:\n%s", result.Body)
	}
	// An API client following the same redirect again reads JSON.
	again, _ := http.NewRequestWithContext(ctx, http.MethodGet, callback, nil)
	var replay struct {
		Error struct{ Code string } `json:"error"`
	}
	b.json(again, http.StatusConflict, &replay)
	if replay.Error.Code != "state_used" {
		t.Errorf("the replayed callback: %+v", replay)
	}

	status, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.URL+"/admin/miniprogram/binding", nil)
	status.Header.Set("Authorization", "Bearer "+st.AdminToken)
	var binding struct {
		Mode    string `json:"mode"`
		Binding struct {
			AppID string `json:"appid"`
		} `json:"binding"`
	}
	b.json(status, http.StatusOK, &binding)
	if binding.Mode != "enterprise" || binding.Binding.AppID != stack.DemoMiniProgram.AppID {
		t.Errorf("the tenant's binding: %+v", binding)
	}
}

// client is a browser that stops at every redirect, so the test sees each
// step a person's browser takes.
type client struct {
	t    *testing.T
	http *http.Client
}

func newBrowser(t *testing.T) client {
	return client{t: t, http: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c client) do(req *http.Request, want int) *http.Response {
	c.t.Helper()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", desktopBrowser)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d\n%s", req.Method, req.URL, resp.StatusCode, want, body)
	}
	return resp
}

// page navigates to rawURL as a browser does (asking for HTML), from a
// page that sent referer.
func (c client) page(rawURL, referer string, want int) browser.Page {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp := c.do(req, want)
	body, _ := io.ReadAll(resp.Body)
	return browser.Page{URL: rawURL, Header: resp.Header, Body: string(body)}
}

func (c client) json(req *http.Request, want int, out any) {
	c.t.Helper()
	resp := c.do(req, want)
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
}

func linkByID(p browser.Page, id string) string {
	for _, l := range p.Links() {
		if l.ID == id {
			return l.Href
		}
	}
	return ""
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	visitField = regexp.MustCompile(`name="visit" value="([^"]+)"`)
)

// formOf reads the authorization page's form: where it posts and the
// page's visit.
func formOf(t *testing.T, body string) (action, visit string) {
	t.Helper()
	a, v := formAction.FindStringSubmatch(body), visitField.FindStringSubmatch(body)
	if a == nil || v == nil {
		t.Fatalf("no confirmation form on the page:\n%s", body)
	}
	return a[1], v[1]
}
