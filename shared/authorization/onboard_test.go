package authorization_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
	"wxchannel/shared/wxcrypt"
)

const oaAppID = "wxacmeoa00000001"

func officialAccount() wechatsim.Authorizer {
	return wechatsim.Authorizer{AppID: oaAppID, Name: "Acme Service Desk", UserName: "gh_oaacme0001", PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/acme-oa.png", Signature: "Acme after-sales", VerifyType: 0, ServiceType: 2,
		Permissions: []int{1, 15, 24, 33}}
}

// relative turns a redirect to the API domain into a path on the test
// server.
func relative(t *testing.T, redirect string) string {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// connectOfficialAccount plays the admin connecting the tenant's official
// account: the start link for an official account, WeChat's page (which
// then lists official accounts only), the push and the redirect back.
func (w *world) connectOfficialAccount(t *testing.T, tenant string) testenv.Reply {
	t.Helper()
	admin := w.token(t, tenant, staffauth.RoleAdmin)
	start := w.Must(w.Do("POST", "/admin/officialaccount/authorization", admin, nil), http.StatusCreated).Str("start_url")
	page := w.OpenStartPage(start, testenv.DesktopBrowser)
	w.Must(page.Reply, http.StatusOK)
	if !strings.Contains(page.PCURL, "auth_type=1") || !strings.Contains(page.Raw, "Official Account") {
		t.Fatalf("official account start page: %s", page.PCURL)
	}
	redirect, pushed, err := w.Sim.ConfirmAuthorization(context.Background(), page.PCURL, page.Referer(page.PCURL), oaAppID)
	if err != nil || !pushed {
		t.Fatalf("confirm: %v", err)
	}
	return w.Do("GET", relative(t, redirect), "", nil)
}

func TestOfficialAccountConnectsBesideTheMiniProgram(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(officialAccount())
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	res := w.Must(w.connectOfficialAccount(t, "acme"), http.StatusOK)
	if res.Str("official_account", "appid") != oaAppID || res.Str("official_account", "principal_name") != "Acme Ltd" {
		t.Fatalf("callback %s", res.Raw)
	}
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	st := w.Must(w.Do("GET", "/admin/officialaccount/binding", admin, nil), http.StatusOK)
	if st.Get("connected") != true || st.Str("official_account", "name") != "Acme Service Desk" || st.Get("tokens") == nil {
		t.Fatalf("status %s", st.Raw)
	}
	// The mini program's binding is untouched, and binds beside it.
	if w.Must(w.Do("GET", "/admin/miniprogram/binding", admin, nil), http.StatusOK).Str("mode") != "public" {
		t.Fatal("the official account was taken for a mini program")
	}
	w.Must(w.Authorize(admin, "wxacme0000000001"), http.StatusOK)
	// Its authorizer token is kept fresh like a mini program's.
	tok, err := tokens.FromDeps(w.Deps).AuthorizerTokenSource(oaAppID).Token(context.Background())
	if err != nil || !w.Sim.ValidAuthorizerToken(oaAppID, tok) {
		t.Fatalf("official account token: %v", err)
	}
	// Another tenant cannot take it; WeChat's revocation disconnects it.
	other := w.connectOfficialAccount(t, "globex")
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Raw, "official_account_bound_elsewhere") {
		t.Fatalf("second tenant: %d %s", other.Status, other.Raw)
	}
	w.Sim.Unauthorize(oaAppID)
	if err := w.Sim.PushAuthEvent(context.Background(), w.PushURL(), "unauthorized", oaAppID, ""); err != nil {
		t.Fatal(err)
	}
	if st := w.Must(w.Do("GET", "/admin/officialaccount/binding", admin, nil), http.StatusOK); st.Get("connected") != false {
		t.Fatalf("after revocation %s", st.Raw)
	}
}

func TestQuickRegistrationFromTheOfficialAccountBindsTheNewMiniProgram(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(officialAccount())
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	// Without an official account there is nothing to reuse.
	w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/official-account", admin, nil), http.StatusConflict, "no_official_account")
	w.Must(w.connectOfficialAccount(t, "acme"), http.StatusOK)
	link := w.Must(w.Do("POST", "/admin/miniprogram/fast-registration/official-account", admin, nil), http.StatusCreated).Str("confirm_url")
	if !strings.HasPrefix(link, wechatsim.FastRegisterAuthPage+"?") || !strings.Contains(link, "copy_wx_verify=1") ||
		!strings.Contains(link, "appid="+oaAppID) {
		t.Fatalf("confirmation link %s", link)
	}
	redirect, err := w.Sim.ConfirmFastRegisterPage(link)
	if err != nil {
		t.Fatal(err)
	}
	res := w.Must(w.Do("GET", relative(t, redirect), "", nil), http.StatusOK)
	appid := res.Str("appid")
	if res.Get("bound") != true || appid == "" || res.Str("binding", "principal_name") != "Acme Ltd" || res.Get("binding", "certified") != true {
		t.Fatalf("callback %s", res.Raw)
	}
	st := w.Must(w.Do("GET", "/admin/miniprogram/binding", admin, nil), http.StatusOK)
	if st.Str("mode") != "enterprise" || st.Str("binding", "appid") != appid {
		t.Fatalf("status %s", st.Raw)
	}
	// The browser reloading the page shows the same outcome, once
	// registered; another ticket on the same link is refused.
	again := w.Must(w.Do("GET", relative(t, redirect), "", nil), http.StatusOK)
	if again.Str("appid") != appid || w.Sim.Calls("fastregister") != 1 {
		t.Fatalf("reload %s, %d registrations", again.Raw, w.Sim.Calls("fastregister"))
	}
	forged := strings.Replace(relative(t, redirect), "ticket=", "ticket=x", 1)
	w.MustError(w.Do("GET", forged, "", nil), http.StatusConflict, "state_used")
	// With a mini program bound, no second one is registered.
	w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/official-account", admin, nil), http.StatusConflict, "other_bound")
}

func TestQuickRegistrationFromAnUncertifiedOfficialAccountSaysWhy(t *testing.T) {
	w := newWorld(t)
	oa := officialAccount()
	oa.VerifyType = -1
	w.Sim.AddAuthorizer(oa)
	w.Must(w.connectOfficialAccount(t, "acme"), http.StatusOK)
	r := w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/official-account", w.token(t, "acme", staffauth.RoleAdmin), nil),
		http.StatusUnprocessableEntity, "official_account_not_certified")
	if !strings.Contains(r.Str("error", "details", "solution"), "certification") {
		t.Fatalf("no fix: %s", r.Raw)
	}
}

var acme = wechatsim.Company{Name: "Acme Equipment Co., Ltd.", Code: "91440101MA59PY8X4E", LegalName: "Li Xueyuan", LegalWeChat: "acme_legal"}

func enterpriseBody(name string) map[string]any {
	return map[string]any{"name": name, "code": acme.Code, "code_type": 1, "legal_persona_wechat": acme.LegalWeChat,
		"legal_persona_name": acme.LegalName, "component_phone": "400-820-8820"}
}

func TestEnterpriseRegistrationStories(t *testing.T) {
	cases := []struct {
		name    string
		company string
		decide  func(w *world) error
		status  string
		problem string
	}{
		{"the legal representative confirms", acme.Name, func(w *world) error {
			_, _, err := w.Sim.ConfirmEnterpriseRegistration(context.Background(), acme.LegalWeChat)
			return err
		}, "succeeded", ""},
		{"the legal representative refuses", acme.Name, func(w *world) error {
			return w.Sim.RefuseEnterpriseRegistration(context.Background(), acme.LegalWeChat)
		}, "failed", "legal_representative_not_confirmed"},
		{"the company name does not match the registry", "Acme Equipment Ltd", func(w *world) error {
			_, _, err := w.Sim.ConfirmEnterpriseRegistration(context.Background(), acme.LegalWeChat)
			return err
		}, "failed", "company_mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.Sim.AddCompany(acme)
			admin := w.token(t, "acme", staffauth.RoleAdmin)
			r := w.Must(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, enterpriseBody(tc.company)), http.StatusAccepted)
			if r.Str("registration", "status") != "pending" || !w.Sim.PendingRegistration(acme.LegalWeChat) {
				t.Fatalf("create %s", r.Raw)
			}
			// Pending: WeChat waits for the legal representative; a second
			// registration is refused meanwhile.
			st := w.Must(w.Do("GET", "/admin/miniprogram/fast-registration", admin, nil), http.StatusOK)
			if st.Str("wechat_state") != "awaiting_legal_representative" || st.Str("message") == "" {
				t.Fatalf("pending %s", st.Raw)
			}
			w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, enterpriseBody(tc.company)),
				http.StatusConflict, "registration_pending")
			if err := tc.decide(w); err != nil {
				t.Fatal(err)
			}
			st = w.Must(w.Do("GET", "/admin/miniprogram/fast-registration", admin, nil), http.StatusOK)
			if st.Str("registration", "status") != tc.status || st.Str("registration", "problem", "code") != tc.problem {
				t.Fatalf("after the decision %s", st.Raw)
			}
			binding := w.Must(w.Do("GET", "/admin/miniprogram/binding", admin, nil), http.StatusOK)
			if tc.status == "succeeded" {
				if binding.Str("mode") != "enterprise" || binding.Str("binding", "appid") != st.Str("registration", "appid") {
					t.Fatalf("binding %s", binding.Raw)
				}
				return
			}
			if st.Str("registration", "problem", "solution") == "" || binding.Str("mode") != "public" {
				t.Fatalf("failure without its fix, or bound: %s %s", st.Raw, binding.Raw)
			}
			// A failed registration may be started again.
			w.Must(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, enterpriseBody(acme.Name)), http.StatusAccepted)
		})
	}
}

func TestEnterpriseRegistrationRefusesBadDetailsBeforeWeChat(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddCompany(acme)
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	for field, value := range map[string]any{"code": "1234", "code_type": 2, "legal_persona_wechat": "李", "name": "",
		"component_phone": "call me"} {
		body := enterpriseBody(acme.Name)
		body[field] = value
		w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, body), http.StatusBadRequest, "invalid_field")
	}
	if w.Sim.Calls("fastregisterweapp") != 0 {
		t.Fatal("WeChat was asked")
	}
	// WeChat's own refusal comes back with its fix, and nothing is left pending.
	body := enterpriseBody(acme.Name)
	body["legal_persona_name"] = "Someone Else"
	r := w.MustError(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, body), http.StatusUnprocessableEntity,
		"legal_name_wechat_mismatch")
	if r.Str("error", "details", "solution") == "" {
		t.Fatalf("no fix %s", r.Raw)
	}
	st := w.Must(w.Do("GET", "/admin/miniprogram/fast-registration", admin, nil), http.StatusOK)
	if st.Str("registration", "status") != "failed" {
		t.Fatalf("status %s", st.Raw)
	}
}

// sealedRegistrationPush is a notify_third_fasteregister push sealed with
// the platform's keys, as WeChat sends it.
func sealedRegistrationPush(t *testing.T, w *world, token string, status int, appid, authCode string) apiclient.Request {
	t.Helper()
	now := w.Clock.Now().Unix()
	inner := fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime>"+
		"<InfoType><![CDATA[notify_third_fasteregister]]></InfoType><appid><![CDATA[%s]]></appid><status>%d</status>"+
		"<auth_code><![CDATA[%s]]></auth_code><msg><![CDATA[OK]]></msg><info><name><![CDATA[%s]]></name><code><![CDATA[%s]]></code>"+
		"<code_type>1</code_type><legal_persona_wechat><![CDATA[%s]]></legal_persona_wechat>"+
		"<legal_persona_name><![CDATA[%s]]></legal_persona_name><component_phone><![CDATA[400-820-8820]]></component_phone></info></xml>",
		testenv.ComponentAppID, now, appid, status, authCode, acme.Name, acme.Code, acme.LegalWeChat, acme.LegalName)
	c, err := wxcrypt.New(token, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	if err != nil {
		t.Fatal(err)
	}
	q, body, err := c.Seal([]byte(inner), strconv.FormatInt(now, 10), "4711", "AppId", testenv.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	return apiclient.Request{Method: "POST", Path: "/wechat/component/events?" + q.Encode(), Raw: body,
		Headers: map[string]string{"Content-Type": "text/xml"}}
}

func TestRegistrationPushIsVerifiedStoredAndIdempotent(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddCompany(acme)
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	w.Must(w.Do("POST", "/admin/miniprogram/fast-registration/enterprise", admin, enterpriseBody(acme.Name)), http.StatusAccepted)
	// WeChat's side registered the mini program; its push is replayed.
	const appid = "wxacmenew0000001"
	mp := miniProgram(appid)
	mp.Name, mp.HeadImg, mp.Signature, mp.Categories, mp.VerifyType = "", "", "", nil, -1
	w.Sim.AddAuthorizer(mp)
	code, err := w.Sim.Authorize(appid)
	if err != nil {
		t.Fatal(err)
	}
	// A push not sealed with the platform's token is refused, and changes nothing.
	forged := w.Send(sealedRegistrationPush(t, w, "not-the-token", 0, appid, code))
	if forged.Status != http.StatusUnauthorized {
		t.Fatalf("forged push: %d %s", forged.Status, forged.Raw)
	}
	push := sealedRegistrationPush(t, w, testenv.ComponentToken, 0, appid, code)
	for i := range 2 {
		r := w.Send(push)
		if r.Status != http.StatusOK || r.Raw != "success" {
			t.Fatalf("push %d: %d %q", i, r.Status, r.Raw)
		}
	}
	if n := w.Sim.Calls("api_query_auth"); n != 1 {
		t.Fatalf("the code was exchanged %d times", n)
	}
	st := w.Must(w.Do("GET", "/admin/miniprogram/fast-registration", admin, nil), http.StatusOK)
	if st.Str("registration", "status") != "succeeded" || st.Str("registration", "appid") != appid {
		t.Fatalf("registration %s", st.Raw)
	}
	b := w.Must(w.Do("GET", "/admin/miniprogram/binding", admin, nil), http.StatusOK)
	if b.Str("mode") != "enterprise" || b.Str("binding", "appid") != appid || b.Get("binding", "certified") != false {
		t.Fatalf("binding %s", b.Raw)
	}
	// A later failure push of the same registration changes nothing.
	w.Clock.Advance(1)
	if r := w.Send(sealedRegistrationPush(t, w, testenv.ComponentToken, 1000, "", "")); r.Raw != "success" {
		t.Fatalf("late push %s", r.Raw)
	}
	if st := w.Must(w.Do("GET", "/admin/miniprogram/fast-registration", admin, nil), http.StatusOK); st.Str("registration", "status") != "succeeded" {
		t.Fatalf("after a late push %s", st.Raw)
	}
}
