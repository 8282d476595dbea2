package wechatsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

// authorizedApp is a simulator with a component token and one authorized
// mini program: what the raw calls below need.
type authorizedApp struct {
	sim                                       *wechatsim.Sim
	client                                    *wechat.Client
	componentToken, appToken, appRefreshToken string
}

const appID = "wxapp0000000000001"

func authorize(t *testing.T) *authorizedApp {
	t.Helper()
	sim, c, _ := start(t)
	ctx := context.Background()
	cat, err := c.ComponentToken(ctx, sim.IssueTicket())
	if err != nil {
		t.Fatal(err)
	}
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: appID, Name: "Shop", HeadImg: "h", Signature: "s", MiniProgram: true,
		UserName: "gh_app", Permissions: []int{17, 18, 30}})
	authCode, err := sim.Authorize(appID)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.QueryAuth(ctx, wechat.StaticToken(cat.AccessToken), authCode)
	if err != nil {
		t.Fatal(err)
	}
	return &authorizedApp{sim: sim, client: c, componentToken: cat.AccessToken,
		appToken: info.AuthorizerAccessToken, appRefreshToken: info.AuthorizerRefreshToken}
}

// rawCall calls the simulator as any HTTP client would and returns the
// reply's errcode (0 for success) and its fields.
func rawCall(t *testing.T, sim *wechatsim.Sim, method, path string, query url.Values, body string) (int, map[string]any) {
	t.Helper()
	u := sim.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: reply is not JSON: %q", path, raw)
	}
	code, _ := out["errcode"].(float64)
	if code != 0 && !strings.Contains(out["errmsg"].(string), " rid: ") {
		t.Fatalf("%s: errmsg %q carries no rid", path, out["errmsg"])
	}
	return int(code), out
}

func jsonBody(t *testing.T, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// without is fields less one.
func without(fields map[string]any, name string) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		if k != name {
			out[k] = v
		}
	}
	return out
}

// with is fields with one field set.
func with(fields map[string]any, name string, v any) map[string]any {
	out := without(fields, name)
	out[name] = v
	return out
}

// componentAPI is a token-authenticated component API and a body that
// WeChat accepts; fresh makes the body anew (authorization codes are
// single-use).
type componentAPI struct {
	path  string
	fresh func(t *testing.T, app *authorizedApp) map[string]any
	// required are the API's other required fields and what WeChat
	// answers without each.
	required map[string]int
}

func componentAPIs() []componentAPI {
	base := func(_ *testing.T, _ *authorizedApp) map[string]any {
		return map[string]any{"component_appid": "wxcomp"}
	}
	return []componentAPI{
		{path: "/cgi-bin/component/api_create_preauthcode", fresh: base},
		{path: "/cgi-bin/component/api_query_auth", required: map[string]int{"authorization_code": 61009},
			fresh: func(t *testing.T, app *authorizedApp) map[string]any {
				code, err := app.sim.Authorize(appID)
				if err != nil {
					t.Fatal(err)
				}
				return map[string]any{"component_appid": "wxcomp", "authorization_code": code}
			}},
		{path: "/cgi-bin/component/api_authorizer_token", required: map[string]int{"authorizer_appid": 41002, "authorizer_refresh_token": 61023},
			fresh: func(_ *testing.T, app *authorizedApp) map[string]any {
				return map[string]any{"component_appid": "wxcomp", "authorizer_appid": appID,
					"authorizer_refresh_token": app.sim.CurrentRefreshToken(appID)}
			}},
		{path: "/cgi-bin/component/api_get_authorizer_info", required: map[string]int{"authorizer_appid": 41002},
			fresh: func(_ *testing.T, _ *authorizedApp) map[string]any {
				return map[string]any{"component_appid": "wxcomp", "authorizer_appid": appID}
			}},
		{path: "/cgi-bin/component/api_get_authorizer_list", required: map[string]int{"count": 47001},
			fresh: func(_ *testing.T, _ *authorizedApp) map[string]any {
				return map[string]any{"component_appid": "wxcomp", "offset": 0, "count": 100}
			}},
	}
}

// TestComponentAPIsRefuseWhatWeChatRefuses: each component API answers a
// well-formed call under either documented token parameter, and WeChat's
// errcode for a missing token, another kind of token, a missing or
// malformed body, a missing or foreign component_appid and each missing
// required field.
func TestComponentAPIsRefuseWhatWeChatRefuses(t *testing.T) {
	for _, api := range componentAPIs() {
		t.Run(api.path, func(t *testing.T) {
			app := authorize(t)
			cat := func(name string) func() url.Values {
				return func() url.Values { return url.Values{name: {app.componentToken}} }
			}
			valid := func() string { return jsonBody(t, api.fresh(t, app)) }
			bodyWithout := func(field string) func() string {
				return func() string { return jsonBody(t, without(api.fresh(t, app), field)) }
			}
			cases := []rawCase{
				{"component_access_token", cat("component_access_token"), valid, 0},
				{"access_token (current docs)", cat("access_token"), valid, 0},
				{"no token", func() url.Values { return nil }, valid, 41001},
				{"token under another name", cat("token"), valid, 41001},
				{"unknown token", func() url.Values { return url.Values{"component_access_token": {"made-up"}} }, valid, 40001},
				// Queried after the body is made: a new authorization code revokes the app's tokens.
				{"authorizer token", func() url.Values { return url.Values{"access_token": {app.freshAppToken(t)}} }, valid, 48001},
				{"empty body", cat("component_access_token"), func() string { return "" }, 44002},
				{"form body", cat("component_access_token"), func() string { return "component_appid=wxcomp" }, 47001},
				{"no component_appid", cat("component_access_token"), bodyWithout("component_appid"), 41018},
				{"another component_appid", cat("component_access_token"),
					func() string { return jsonBody(t, with(api.fresh(t, app), "component_appid", "wxother")) }, 40013},
			}
			for field, code := range api.required {
				cases = append(cases, rawCase{"no " + field, cat("component_access_token"), bodyWithout(field), code})
			}
			for _, tc := range cases {
				body := tc.body()
				if got, _ := rawCall(t, app.sim, http.MethodPost, api.path, tc.query(), body); got != tc.want {
					t.Errorf("%s: errcode %d, want %d", tc.name, got, tc.want)
				}
			}
		})
	}
}

// rawCase is one raw call: its query and body, made when the call is.
type rawCase struct {
	name  string
	query func() url.Values
	body  func() string
	want  int
}

// freshAppToken is a valid access token of the authorized app, minted now.
func (app *authorizedApp) freshAppToken(t *testing.T) string {
	t.Helper()
	tok, err := app.client.AuthorizerToken(context.Background(), wechat.StaticToken(app.componentToken), appID,
		app.sim.CurrentRefreshToken(appID))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestComponentCredentialsAreCheckedFieldByField: the two calls that
// authenticate with the AppSecret check each field in turn.
func TestComponentCredentialsAreCheckedFieldByField(t *testing.T) {
	app := authorize(t)
	token := map[string]any{"component_appid": "wxcomp", "component_appsecret": "s", "component_verify_ticket": app.sim.IssueTicket()}
	push := map[string]any{"component_appid": "wxcomp", "component_secret": "s"}
	cases := []struct {
		name, path string
		body       map[string]any
		want       int
	}{
		{"token", "/cgi-bin/component/api_component_token", token, 0},
		{"token without component_appid", "/cgi-bin/component/api_component_token", without(token, "component_appid"), 41018},
		{"token for another account", "/cgi-bin/component/api_component_token", with(token, "component_appid", "wxother"), 61011},
		{"token without secret", "/cgi-bin/component/api_component_token", without(token, "component_appsecret"), 41004},
		{"token with a wrong secret", "/cgi-bin/component/api_component_token", with(token, "component_appsecret", "x"), 40125},
		{"token without ticket", "/cgi-bin/component/api_component_token", without(token, "component_verify_ticket"), 61006},
		{"push", "/cgi-bin/component/api_start_push_ticket", push, 0},
		{"push without component_appid", "/cgi-bin/component/api_start_push_ticket", without(push, "component_appid"), 41018},
		{"push without secret", "/cgi-bin/component/api_start_push_ticket", without(push, "component_secret"), 41004},
		{"push with the token's field name", "/cgi-bin/component/api_start_push_ticket",
			with(without(push, "component_secret"), "component_appsecret", "s"), 41004},
	}
	for _, tc := range cases {
		if got, _ := rawCall(t, app.sim, http.MethodPost, tc.path, nil, jsonBody(t, tc.body)); got != tc.want {
			t.Errorf("%s: errcode %d, want %d", tc.name, got, tc.want)
		}
	}
	if got, _ := rawCall(t, app.sim, http.MethodPost, "/cgi-bin/component/api_component_token", nil, ""); got != 44002 {
		t.Errorf("empty body: errcode %d, want 44002", got)
	}
}

// TestAppAPIsTakeTheTokenUnderAccessTokenOnly: what is called for an
// authorizer, and the template library, read access_token and nothing
// else; the third-party jscode2session reads component_access_token only.
func TestAppAPIsTakeTheTokenUnderAccessTokenOnly(t *testing.T) {
	app := authorize(t)
	login := url.Values{"appid": {appID}, "grant_type": {"authorization_code"}, "component_appid": {"wxcomp"},
		"js_code": {app.sim.IssueJSCode(appID, "o1", "")}}
	cases := []struct {
		name, method, path string
		param, token       string
		extra              url.Values
		want               int
	}{
		{"categories", "GET", "/cgi-bin/wxopen/getcategory", "access_token", app.appToken, nil, 0},
		{"categories, token as component's", "GET", "/cgi-bin/wxopen/getcategory", "component_access_token", app.appToken, nil, 41001},
		{"audit status, token as component's", "GET", "/wxa/get_latest_auditstatus", "component_access_token", app.appToken, nil, 41001},
		{"privacy setting (a component path)", "POST", "/cgi-bin/component/setprivacysetting", "component_access_token", app.appToken, nil,
			41001},
		{"audit status, component token", "GET", "/wxa/get_latest_auditstatus", "access_token", app.componentToken, nil, 40001},
		{"templates", "GET", "/wxa/gettemplatelist", "access_token", app.componentToken, nil, 0},
		{"templates, token as component's", "GET", "/wxa/gettemplatelist", "component_access_token", app.componentToken, nil, 41001},
		{"templates, authorizer token", "GET", "/wxa/gettemplatelist", "access_token", app.appToken, nil, 48001},
		{"login, token as access_token", "GET", "/sns/component/jscode2session", "access_token", app.componentToken, login, 41001},
		{"login", "GET", "/sns/component/jscode2session", "component_access_token", app.componentToken, login, 0},
	}
	for _, tc := range cases {
		q := url.Values{tc.param: {tc.token}}
		maps.Copy(q, tc.extra)
		if got, _ := rawCall(t, app.sim, tc.method, tc.path, q, "{}"); got != tc.want {
			t.Errorf("%s: errcode %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestLoginsCheckEveryQueryParameter: both code2sessions and the public
// app's token read every parameter from the query.
func TestLoginsCheckEveryQueryParameter(t *testing.T) {
	app := authorize(t)
	app.sim.AddPublicApp("wxpub", "ps")
	third := url.Values{"appid": {appID}, "grant_type": {"authorization_code"}, "component_appid": {"wxcomp"},
		"component_access_token": {app.componentToken}, "js_code": {"unused"}}
	public := url.Values{"appid": {"wxpub"}, "secret": {"ps"}, "grant_type": {"authorization_code"}, "js_code": {"unused"}}
	token := url.Values{"appid": {"wxpub"}, "secret": {"ps"}, "grant_type": {"client_credential"}}
	set := func(q url.Values, k, v string) url.Values {
		out := maps.Clone(q)
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	const third2session, public2session, appToken = "/sns/component/jscode2session", "/sns/jscode2session", "/cgi-bin/token"
	cases := []struct {
		name, path string
		query      url.Values
		want       int
	}{
		{"third party: no component_appid", third2session, set(third, "component_appid", ""), 41018},
		{"third party: another component_appid", third2session, set(third, "component_appid", "wxother"), 40013},
		{"third party: no appid", third2session, set(third, "appid", ""), 41002},
		{"third party: unauthorized appid", third2session, set(third, "appid", "wxnobody"), 61003},
		{"third party: no grant_type", third2session, set(third, "grant_type", ""), 40002},
		{"third party: no js_code", third2session, set(third, "js_code", ""), 41008},
		{"third party: unknown js_code", third2session, third, 40029},
		{"public: no appid", public2session, set(public, "appid", ""), 41002},
		{"public: no secret", public2session, set(public, "secret", ""), 41004},
		{"public: wrong secret", public2session, set(public, "secret", "x"), 40125},
		{"public: no grant_type", public2session, set(public, "grant_type", ""), 40002},
		{"public: no js_code", public2session, set(public, "js_code", ""), 41008},
		{"app token", appToken, token, 0},
		{"app token: grant_type for a login", appToken, set(token, "grant_type", "authorization_code"), 40002},
		{"app token: no secret", appToken, set(token, "secret", ""), 41004},
	}
	for _, tc := range cases {
		if got, _ := rawCall(t, app.sim, http.MethodGet, tc.path, tc.query, ""); got != tc.want {
			t.Errorf("%s: errcode %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestMiniProgramCodesAreJPEGAndErrorsJSON: WeChat answers the code APIs
// with image/jpeg; the client hands the image on and turns a JSON reply
// into an APIError.
func TestMiniProgramCodesAreJPEGAndErrorsJSON(t *testing.T) {
	app := authorize(t)
	ctx := context.Background()
	aat := wechat.StaticToken(app.appToken)
	ct, img, err := app.client.TrialQRCode(ctx, aat, "pages/portal/index")
	if err != nil {
		t.Fatal(err)
	}
	if ct != "image/jpeg" {
		t.Fatalf("content type %q", ct)
	}
	if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if _, _, err := app.client.WxaCodeUnlimit(ctx, aat, "t=1", "pages/portal/index", "release"); !wechat.IsCode(err, wechat.CodePageNotPublished) {
		t.Fatalf("code of an unreleased app: %v", err)
	}
	if _, _, err := app.client.WxaCodeUnlimit(ctx, aat, "t=1", "/pages/portal/index", "trial"); !wechat.IsCode(err, 41030) {
		t.Fatalf("page with a leading slash: %v", err)
	}
	ct, img, err = app.client.WxaCodeUnlimit(ctx, aat, "t=1", "pages/portal/index", "trial")
	if err != nil || ct != "image/jpeg" || !bytes.HasPrefix(img, []byte{0xFF, 0xD8}) {
		t.Fatalf("trial code: %q %x… %v", ct, img[:min(len(img), 4)], err)
	}
}

// TestRepliesHaveTheDocumentedShape: getcategory names the categories,
// the audit status APIs carry "screenshot", and the client reads both.
func TestRepliesHaveTheDocumentedShape(t *testing.T) {
	app := authorize(t)
	ctx := context.Background()
	aat := wechat.StaticToken(app.appToken)
	all, err := app.client.AllCategories(ctx, aat)
	if err != nil || len(all) == 0 {
		t.Fatalf("all categories: %v %v", all, err)
	}
	if err := app.client.AddCategories(ctx, aat, all[:1]); err != nil {
		t.Fatal(err)
	}
	if err := app.client.AddCategories(ctx, aat, all[:1]); !wechat.IsCode(err, 53304) {
		t.Fatalf("the same category again: %v", err)
	}
	if err := app.client.AddCategories(ctx, aat, []wechat.Category{{First: 1, Second: 21}}); !wechat.IsCode(err, 53303) {
		t.Fatalf("a second level under another first: %v", err)
	}
	set, err := app.client.Categories(ctx, aat)
	if err != nil || len(set) != 1 || set[0].FirstName != all[0].FirstName || set[0].SecondName != all[0].SecondName {
		t.Fatalf("categories set: %+v %v", set, err)
	}
	_, raw := rawCall(t, app.sim, http.MethodGet, "/cgi-bin/wxopen/getcategory", url.Values{"access_token": {app.appToken}}, "")
	for _, field := range []string{"limit", "quota", "category_limit"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("getcategory lacks %s: %v", field, raw)
		}
	}

	app.sim.AddTemplate(wechatsim.Template{ID: 1, Version: "1.0.0"})
	app.sim.SetPrivacyScanDelay(0)
	if err := app.client.Commit(ctx, aat, 1, `{"requiredPrivateInfos":["getLocation"]}`, "1.0.0", ""); err != nil {
		t.Fatal(err)
	}
	auditID, err := app.client.SubmitAudit(ctx, aat, wechat.SubmitAuditRequest{})
	if err != nil {
		t.Fatal(err)
	}
	app.sim.ScriptAudit(appID, wechatsim.AuditOutcome{Status: 1, Reason: "category"})
	if err := app.sim.FinishAudit(ctx, appID, false); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"access_token": {app.appToken}}
	for _, call := range []struct{ method, path, body string }{
		{"GET", "/wxa/get_latest_auditstatus", ""},
		{"POST", "/wxa/get_auditstatus", jsonBody(t, map[string]any{"auditid": auditID})},
	} {
		code, raw := rawCall(t, app.sim, call.method, call.path, q, call.body)
		if _, capital := raw["ScreenShot"]; code != 0 || capital || raw["screenshot"] != "media1|media2" {
			t.Errorf("%s: %d %v", call.path, code, raw)
		}
	}
	if code, _ := rawCall(t, app.sim, "POST", "/wxa/get_auditstatus", q, jsonBody(t, map[string]any{"auditid": auditID + 1})); code != 85012 {
		t.Errorf("another auditid: errcode %d", code)
	}
	st, err := app.client.LatestAuditStatus(ctx, aat)
	if err != nil || st.ScreenShot != "media1|media2" {
		t.Fatalf("the client's view: %+v %v", st, err)
	}
}

// tamper rewrites each request the client sends on its way to the
// simulator.
type tamper func(*http.Request)

func (f tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

// misnameToken moves the token to a query parameter WeChat does not read.
func misnameToken(r *http.Request) {
	q := r.URL.Query()
	for _, name := range []string{"access_token", "component_access_token"} {
		if v := q.Get(name); v != "" {
			q.Del(name)
			q.Set("token", v)
		}
	}
	r.URL.RawQuery = q.Encode()
}

// dropComponentAppID removes component_appid from the query and the JSON body.
func dropComponentAppID(r *http.Request) {
	q := r.URL.Query()
	q.Del("component_appid")
	r.URL.RawQuery = q.Encode()
	if r.Body == nil {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if json.Unmarshal(raw, &body) == nil {
		delete(body, "component_appid")
		raw, _ = json.Marshal(body)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
}

// TestSimulatorCatchesAClientThatMisnamesTheTokenOrDropsAField: our client,
// with its requests bent on the way, fails against the simulator as it
// would against WeChat.
func TestSimulatorCatchesAClientThatMisnamesTheTokenOrDropsAField(t *testing.T) {
	app := authorize(t)
	ctx := context.Background()
	cat := wechat.StaticToken(app.componentToken)
	// api_query_auth's authorization revokes the app's tokens: mint one per call.
	aat := func() wechat.TokenSource { return wechat.StaticToken(app.freshAppToken(t)) }
	calls := []struct {
		name string
		call func(c *wechat.Client) error
		// misnamed and dropped are the errcodes for a misnamed token and a
		// dropped component_appid; 0: the call has no such part.
		misnamed, dropped int
	}{
		{"api_start_push_ticket", func(c *wechat.Client) error { return c.StartPushTicket(ctx) }, 0, 41018},
		{"api_create_preauthcode", func(c *wechat.Client) error { _, err := c.CreatePreAuthCode(ctx, cat); return err }, 41001, 41018},
		{"api_query_auth", func(c *wechat.Client) error {
			code, err := app.sim.Authorize(appID)
			if err != nil {
				return err
			}
			_, err = c.QueryAuth(ctx, cat, code)
			return err
		}, 41001, 41018},
		{"api_authorizer_token", func(c *wechat.Client) error {
			_, err := c.AuthorizerToken(ctx, cat, appID, app.sim.CurrentRefreshToken(appID))
			return err
		}, 41001, 41018},
		{"api_get_authorizer_info", func(c *wechat.Client) error { _, err := c.AuthorizerInfo(ctx, cat, appID); return err }, 41001, 41018},
		{"api_get_authorizer_list", func(c *wechat.Client) error { _, err := c.AuthorizerList(ctx, cat, 0, 100); return err }, 41001, 41018},
		{"component_jscode2session", func(c *wechat.Client) error {
			_, err := c.ComponentCode2Session(ctx, cat, appID, app.sim.IssueJSCode(appID, "o1", ""))
			return err
		}, 41001, 41018},
		{"get_privacy_interface", func(c *wechat.Client) error { _, err := c.PrivacyInterfaces(ctx, aat()); return err }, 41001, 0},
		{"getcategory", func(c *wechat.Client) error { _, err := c.Categories(ctx, aat()); return err }, 41001, 0},
	}
	client := func(f tamper) *wechat.Client {
		return wechat.New(wechat.Config{BaseURL: app.sim.URL, ComponentAppID: "wxcomp", ComponentSecret: wechat.StaticSecret("s"),
			MaxAttempts: 1, HTTPClient: &http.Client{Transport: f}})
	}
	for _, bent := range []struct {
		name  string
		f     tamper
		check func(misnamed, dropped int) int
	}{
		{"misnamed token", misnameToken, func(misnamed, _ int) int { return misnamed }},
		{"no component_appid", dropComponentAppID, func(_, dropped int) int { return dropped }},
	} {
		c := client(bent.f)
		for _, tc := range calls {
			want := bent.check(tc.misnamed, tc.dropped)
			if want == 0 {
				continue
			}
			if err := tc.call(c); !wechat.IsCode(err, want) {
				t.Errorf("%s with %s: %v, want errcode %d", tc.name, bent.name, err, want)
			}
		}
	}
	for _, tc := range calls {
		if err := tc.call(app.client); err != nil {
			t.Errorf("%s as sent: %v", tc.name, err)
		}
	}
}
