package testenv

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/browser"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

// API is the whole product as a test sees it: every function mounted by
// functions.Mount and served through the Lambda adapter on one base URL,
// as API Gateway routes them, with WeChat's first verify ticket pushed and
// the component token minted. Every end-to-end test starts here.
type API struct {
	*Env
	T    testing.TB
	Base string
	// Jobs are the scheduled functions by name, run as EventBridge would.
	Jobs map[string]lambdarun.Scheduled
	// Events plays the event functions' triggers (nil on another DynamoDB
	// endpoint, which has no stream this stack can read); PumpEvents
	// drives it.
	Events *stack.EventPipeline
	client apiclient.Client
	// checked counts the exchanges held to the OpenAPI contract.
	checked contractCounts
}

// Reply is a reply with its JSON body decoded.
type Reply = apiclient.Reply

// Setup starts a fresh environment for t and mounts every function.
func Setup(t testing.TB, mount stack.MountFunc) *API { return SetupWith(t, mount, nil) }

// SetupWith is Setup with tune changing the environment before the
// functions are built (a shorter WeChat timeout, a failing table).
func SetupWith(t testing.TB, mount stack.MountFunc, tune func(*Env)) *API {
	t.Helper()
	env := New(t)
	if tune != nil {
		tune(env)
	}
	ctx := context.Background()
	h, workers, err := mount(ctx, env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	a := &API{Env: env, T: t, Base: ServeThroughLambda(t, h), Jobs: map[string]lambdarun.Scheduled{}}
	a.client = apiclient.Client{Base: a.Base}
	t.Cleanup(func() { a.checked.report(t) })
	for _, j := range workers.Jobs {
		a.Jobs[j.Name] = j
	}
	if env.Dynamo != nil {
		if a.Events, err = env.EventPipeline(ctx, workers, env.Deps.Log); err != nil {
			t.Fatal(err)
		}
	}
	// Like WeChat, the simulator pushes authorization events to our
	// authorization event URL when an admin confirms.
	env.Sim.SetPushURL(a.PushURL())
	if _, err := env.Sim.PushTicket(ctx, a.PushURL()); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.FromDeps(env.Deps).RefreshDue(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// PumpEvents moves every event that is due through the pipeline: the
// stream into the queue, the queue to the webhooks. It returns how many
// queued messages the delivery function was given. Without the embedded
// server's stream the test is skipped.
func (a *API) PumpEvents() int {
	a.T.Helper()
	if a.Events == nil {
		a.T.Skip("the event pipeline needs the embedded DynamoDB server's stream")
	}
	n, err := a.Events.Pump(context.Background())
	if err != nil {
		a.T.Fatalf("event pipeline: %v", err)
	}
	return n
}

// PushURL is our authorization event URL, where WeChat pushes tickets.
func (a *API) PushURL() string { return a.Base + "/wechat/component/events" }

// MessageURL is our message URL template, for the simulator.
func (a *API) MessageURL() string { return a.Base + "/wechat/events/$APPID$" }

// Do sends a request with a JSON body (nil for none), a bearer token (""
// for none) and headers given as name, value pairs.
func (a *API) Do(method, path, token string, body any, headers ...string) Reply {
	a.T.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return a.Send(apiclient.Request{Method: method, Path: path, Token: token, Body: body, Headers: h})
}

// DoRaw sends a raw body as application/json, for bodies a JSON encoder
// would not produce.
func (a *API) DoRaw(method, path, token, raw string) Reply {
	a.T.Helper()
	req := apiclient.Request{Method: method, Path: path, Token: token}
	if raw != "" {
		req.Raw, req.Headers = []byte(raw), map[string]string{"Content-Type": "application/json"}
	}
	return a.Send(req)
}

// Send sends any request (a raw body of another type, a replayed push).
// The exchange is held to the OpenAPI contract (contract.go): a reply or
// an accepted request that breaks it fails the test.
func (a *API) Send(req apiclient.Request) Reply {
	a.T.Helper()
	rec := &recordingTransport{next: http.DefaultTransport}
	client := a.client
	client.HTTP = &http.Client{Transport: rec}
	r, err := client.Do(context.Background(), req)
	if err != nil {
		a.T.Fatal(err)
	}
	if err := checkContract(a.Base, rec.exchanges(), &a.checked); err != nil {
		a.T.Error(err)
	}
	return r
}

// Must fails the test unless r has status want, and returns r.
func (a *API) Must(r Reply, want int) Reply {
	a.T.Helper()
	if r.Status != want {
		a.T.Fatalf("status %d, want %d: %s", r.Status, want, r.Raw)
	}
	return r
}

// MustError fails the test unless r is a refusal with status and the
// envelope's code, and a message for the person.
func (a *API) MustError(r Reply, status int, code string) Reply {
	a.T.Helper()
	if r.Status != status || r.ErrorCode() != code || r.Str("error", "message") == "" {
		a.T.Fatalf("%d %s, want %d with code %s", r.Status, r.Raw, status, code)
	}
	return r
}

// Staff signs a CRM staff token for the tenant.
func (a *API) Staff(tenantID, subject, role string) string {
	a.T.Helper()
	return a.StaffToken(a.T, tenantID, subject, role)
}

// Login signs openid in through the public mini program opened with scene,
// with a fresh wx.login code.
func (a *API) Login(scene, openid string) Reply {
	a.T.Helper()
	code := a.Sim.IssueJSCode(PublicAppID, openid, "")
	return a.Do("POST", "/portal/login", "", map[string]any{"code": code, "scene": scene})
}

// User-Agent headers of the browsers an admin opens the start page in.
const (
	DesktopBrowser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	WeChatBrowser  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
		"MicroMessenger/8.0.50(0x1800322d) NetType/WIFI Language/zh_CN"
)

// StartPage is our authorization start page as the admin's browser got it.
type StartPage struct {
	Reply
	// URL is the page's public address on the API domain.
	URL string
	// PCURL and MobileURL are its links to WeChat's authorization pages
	// (componentloginpage and bindcomponent), "" on an error page.
	PCURL, MobileURL string
}

// Browser is the page as the browser holds it.
func (p StartPage) Browser() browser.Page {
	return browser.Page{URL: p.URL, Header: p.Header, Body: p.Raw}
}

// Referer is what the browser sends WeChat with a click on link.
func (p StartPage) Referer(link string) string { return p.Browser().Referer(link) }

// StartLink asks for the authorization start link as the admin, as the
// CRM console does, and returns it.
func (a *API) StartLink(adminToken string) string {
	a.T.Helper()
	return a.Must(a.Do("POST", "/admin/miniprogram/authorization", adminToken, nil), http.StatusCreated).Str("start_url")
}

// OpenStartPage opens a start link (its public address) in a browser that
// sends userAgent and the headers given as name, value pairs.
func (a *API) OpenStartPage(startURL, userAgent string, headers ...string) StartPage {
	a.T.Helper()
	u, err := url.Parse(startURL)
	if err != nil {
		a.T.Fatal(err)
	}
	r := a.Do("GET", u.RequestURI(), "", nil, append([]string{"User-Agent", userAgent}, headers...)...)
	page := StartPage{Reply: r, URL: startURL}
	page.PCURL = page.Browser().LinkTo(wechatsim.PCAuthPage)
	page.MobileURL = page.Browser().LinkTo(wechatsim.MobileAuthPage)
	return page
}

// StartAuthorization is the admin connecting a mini program up to WeChat's
// page: it asks for the start link and opens it on a computer.
func (a *API) StartAuthorization(adminToken string) StartPage {
	a.T.Helper()
	page := a.OpenStartPage(a.StartLink(adminToken), DesktopBrowser)
	a.Must(page.Reply, http.StatusOK)
	return page
}

// Authorize connects appid (already known to the simulator) to the admin's
// tenant as an admin does: it opens the start page from the link the
// console asks for, clicks its link to WeChat, confirms on WeChat's page
// (WeChat pushes the authorized event) and follows WeChat's redirect to
// our callback, whose reply it returns.
func (a *API) Authorize(adminToken, appid string) Reply {
	a.T.Helper()
	page := a.StartAuthorization(adminToken)
	redirect, _, err := a.Sim.ConfirmAuthorization(context.Background(), page.PCURL, page.Referer(page.PCURL), appid)
	if err != nil {
		a.T.Fatal(err)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		a.T.Fatal(err)
	}
	return a.Do("GET", u.RequestURI(), "", nil)
}
