package authorization_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/authorization"
	"wxchannel/shared/binding"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

// world is the product with a ticket pushed and the component token
// minted; the admin API, the callback and the push URL are served through
// the Lambda adapter, as API Gateway invokes them.
type world struct {
	*testenv.API
}

func newWorld(t *testing.T) *world { return &world{API: testenv.Setup(t, functions.Mount)} }

func (w *world) token(t *testing.T, tenant, role string) string {
	t.Helper()
	return w.StaffToken(t, tenant, "u-"+tenant, role)
}

// call sends a raw JSON body ("" for none) as the tenant's admin ("" for
// no token), decodes the reply into out and returns the status.
func (w *world) call(t *testing.T, method, path, tenant, body string, out any) int {
	t.Helper()
	token := ""
	if tenant != "" {
		token = w.token(t, tenant, staffauth.RoleAdmin)
	}
	r := w.DoRaw(method, path, token, body)
	if out != nil && len(r.Raw) > 0 {
		if err := json.Unmarshal([]byte(r.Raw), out); err != nil {
			t.Fatalf("%s %s: %s", method, path, r.Raw)
		}
	}
	return r.Status
}

// start opens the start page as the tenant's admin, from the link the
// console asks for.
func (w *world) start(t *testing.T, tenant string) testenv.StartPage {
	t.Helper()
	return w.StartAuthorization(w.token(t, tenant, staffauth.RoleAdmin))
}

// scan lets the simulator play the admin clicking the start page's link
// to WeChat's page and confirming there, and returns the callback URL
// rewritten to our test server.
func (w *world) scan(t *testing.T, page testenv.StartPage, appid string) string {
	t.Helper()
	redirect, err := w.Sim.ScanAuthorization(page.PCURL, page.Referer(page.PCURL), appid)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(redirect)
	return w.Base + u.RequestURI()
}

// authorize plays the admin on WeChat's page and WeChat's signed push of
// the authorization, as WeChat sends it, and returns the callback URL the
// admin's browser is redirected to, not yet followed.
func (w *world) authorize(t *testing.T, page testenv.StartPage, appid string) string {
	t.Helper()
	u := w.scan(t, page, appid)
	w.push(t, appid, mustQuery(u, "auth_code"))
	return u
}

// push delivers WeChat's push of an authorized event.
func (w *world) push(t *testing.T, appid, code string) {
	t.Helper()
	if err := w.Sim.PushAuthEvent(context.Background(), w.PushURL(), "authorized", appid, code); err != nil {
		t.Fatal(err)
	}
}

type callbackReply struct {
	authorization.Result
	Error struct{ Code, Message string } `json:"error"`
}

func get(t *testing.T, u string) (int, callbackReply) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r callbackReply
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("callback reply %s", raw)
	}
	return resp.StatusCode, r
}

func miniProgram(appid string) wechatsim.Authorizer {
	return wechatsim.Authorizer{AppID: appid, Name: "Acme Service", UserName: "gh_" + appid[2:12], PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/acme.png", Signature: "After-sales service for Acme equipment", MiniProgram: true,
		VerifyType: 0, Permissions: []int{17, 18, 30}, Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}}
}

func TestHappyPathThroughAdminCallbackAndStatus(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	var before authorization.Status
	w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &before)
	if before.Mode != "public" || before.Binding != nil {
		t.Fatalf("before binding: %+v", before)
	}
	page := w.start(t, "acme")
	if !strings.Contains(page.PCURL, "auth_type=2") || !strings.Contains(page.MobileURL, "bindcomponent") ||
		!strings.HasSuffix(page.MobileURL, "#wechat_redirect") {
		t.Fatalf("links %q %q", page.PCURL, page.MobileURL)
	}
	status, res := get(t, w.authorize(t, page, "wxacme0000000001"))
	if status != 200 || !res.Bound || res.Binding.Name != "Acme Service" {
		t.Fatalf("callback %d %+v", status, res)
	}
	var st authorization.Status
	w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &st)
	if st.Mode != "enterprise" || st.Binding.AppID != "wxacme0000000001" || !st.Binding.Certified || st.NeedsReauth || st.Tokens == nil {
		t.Fatalf("status %+v", st)
	}
	// The refresh token was stored with the binding: the token source works.
	tok, err := tokens.FromDeps(w.Deps).AuthorizerTokenSource("wxacme0000000001").Token(context.Background())
	if err != nil || !w.Sim.ValidAuthorizerToken("wxacme0000000001", tok) {
		t.Fatalf("authorizer token: %v", err)
	}
	// Another tenant's admin sees nothing of it.
	var other authorization.Status
	w.call(t, "GET", "/admin/miniprogram/binding", "globex", "", &other)
	if other.Mode != "public" {
		t.Fatalf("cross-tenant status %+v", other)
	}
}

func TestEveryFailureReasonHasItsCodeAndSolution(t *testing.T) {
	cases := []struct {
		name     string
		account  func(a wechatsim.Authorizer) wechatsim.Authorizer
		code     string
		solution string
		detail   string
	}{
		{"official account chosen", func(a wechatsim.Authorizer) wechatsim.Authorizer { a.MiniProgram = false; return a },
			authorization.ReasonNotMiniProgram, "choose your enterprise's Mini Program (not its Official Account)", ""},
		{"not certified", func(a wechatsim.Authorizer) wechatsim.Authorizer { a.VerifyType = -1; return a },
			authorization.ReasonNotCertified, "Complete WeChat certification", ""},
		{"missing permission sets", func(a wechatsim.Authorizer) wechatsim.Authorizer { a.Permissions = []int{30}; return a },
			authorization.ReasonMissingPermissions, "keep every listed permission selected", "Mini Program development and data analysis (18), Mini Program codes (17)"},
		{"code management held by another platform", func(a wechatsim.Authorizer) wechatsim.Authorizer { a.AuthorizedElsewhere = true; return a },
			authorization.ReasonMissingPermissions, "revoke that provider's authorization", "(18)"},
		{"incomplete info", func(a wechatsim.Authorizer) wechatsim.Authorizer {
			a.HeadImg, a.Signature, a.Categories = "", "", nil
			return a
		}, authorization.ReasonIncompleteInfo, "set the Mini Program's name, icon, description and at least one service category", "icon, description, service categories"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			appid := fmt.Sprintf("wxbad0000000000%d", i)
			w.Sim.AddAuthorizer(tc.account(miniProgram(appid)))
			status, res := get(t, w.authorize(t, w.start(t, "acme"), appid))
			if status != 422 || res.Bound || len(res.Problems) == 0 {
				t.Fatalf("callback %d %+v", status, res)
			}
			p := res.Problems[0]
			if p.Code != tc.code || !strings.Contains(p.Solution, tc.solution) || !strings.Contains(p.Message, tc.detail) {
				t.Fatalf("problem %+v", p)
			}
			var st authorization.Status
			w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &st)
			if st.Mode != "public" || st.LastError == nil || st.LastError.Code != tc.code {
				t.Fatalf("status %+v", st)
			}
			if _, err := tokens.FromDeps(w.Deps).AuthorizerStatus(context.Background(), appid); err == nil {
				t.Fatal("tokens of an unusable authorization were stored")
			}
		})
	}
}

func TestBindingRules(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000002"))
	if status, _ := get(t, w.authorize(t, w.start(t, "acme"), "wxacme0000000001")); status != 200 {
		t.Fatal("first binding failed")
	}
	// Another tenant authorizes the same mini program.
	status, res := get(t, w.authorize(t, w.start(t, "globex"), "wxacme0000000001"))
	if status != 422 || res.Problems[0].Code != authorization.ReasonBoundElsewhere {
		t.Fatalf("bound elsewhere: %d %+v", status, res)
	}
	// The tenant authorizes a second mini program while one is bound.
	status, res = get(t, w.authorize(t, w.start(t, "acme"), "wxacme0000000002"))
	if status != 422 || res.Problems[0].Code != authorization.ReasonOtherBound {
		t.Fatalf("other bound: %d %+v", status, res)
	}
	// Re-authorizing the same one updates in place with the new refresh
	// token (WeChat invalidated the old one).
	w.Sim.AddAuthorizer(func() wechatsim.Authorizer {
		a := miniProgram("wxacme0000000001")
		a.Permissions = []int{17, 18, 30, 19}
		return a
	}())
	status, res = get(t, w.authorize(t, w.start(t, "acme"), "wxacme0000000001"))
	if status != 200 || len(res.Binding.Permissions) != 4 {
		t.Fatalf("re-authorization: %d %+v", status, res)
	}
	m := tokens.FromDeps(w.Deps)
	w.Clock.Advance(2*time.Hour - 10*time.Minute)
	if _, err := m.RefreshDue(context.Background()); err != nil {
		t.Fatalf("refresh with the new refresh token: %v", err)
	}
	// Unbind, then bind the other one.
	if status := w.call(t, "DELETE", "/admin/miniprogram/binding", "acme", "", nil); status != 204 {
		t.Fatalf("unbind %d", status)
	}
	if status := w.call(t, "DELETE", "/admin/miniprogram/binding", "acme", "", nil); status != 404 {
		t.Fatalf("second unbind %d", status)
	}
	status, res = get(t, w.authorize(t, w.start(t, "acme"), "wxacme0000000002"))
	if status != 200 || res.Binding.AppID != "wxacme0000000002" {
		t.Fatalf("bind after unbind: %d %+v", status, res)
	}
	// The unbound mini program may now serve another tenant.
	status, _ = get(t, w.authorize(t, w.start(t, "globex"), "wxacme0000000001"))
	if status != 200 {
		t.Fatalf("globex binding the released mini program: %d", status)
	}
	history, err := authorization.NewStore(w.DB).History(context.Background(), "acme")
	if err != nil || len(history) != 4 { // bound, bound (re-auth), unbound, bound
		t.Fatalf("history %d %v", len(history), err)
	}
}

func TestTwoTenantsRaceForOneMiniProgram(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxrace0000000001"))
	tenants := []string{"acme", "globex", "initech", "umbrella"}
	var urls []string
	for _, tenant := range tenants {
		urls = append(urls, w.scan(t, w.start(t, tenant), "wxrace0000000001"))
	}
	var wg sync.WaitGroup
	results := make([]callbackReply, len(urls))
	statuses := make([]int, len(urls))
	for i, u := range urls {
		wg.Go(func() {
			w.push(t, "wxrace0000000001", mustQuery(u, "auth_code"))
			statuses[i], results[i] = get(t, u)
		})
	}
	wg.Wait()
	b, err := authorization.NewStore(w.DB).ByAppID(context.Background(), "wxrace0000000001")
	if err != nil {
		t.Fatal(err)
	}
	winners := 0
	for i := range urls {
		switch {
		case statuses[i] == 200 && results[i].Bound:
			winners++
		case statuses[i] == 422 && results[i].Problems[0].Code == authorization.ReasonBoundElsewhere:
		case statuses[i] == 202 && results[i].Pending:
			// WeChat's push took this code and was still binding when the
			// callback gave up waiting: the admin sees "finishing".
			if b.TenantID == tenants[i] {
				winners++
			}
		default:
			t.Errorf("tenant %s: %d %+v", tenants[i], statuses[i], results[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d tenants bound the same mini program (now bound to %s): %v %+v", winners, b.TenantID, statuses, results)
	}
}

// TestFourTenantsRaceWithOverlappingBindings makes the race certain: the
// first tenant's binding transaction is held in flight while the three
// others' bindings of the same mini program run into it. DynamoDB cancels
// them (TransactionConflict), the client retries, and the retries meet the
// first binding's condition: one tenant is bound, the three others are
// told the mini program serves another enterprise.
func TestFourTenantsRaceWithOverlappingBindings(t *testing.T) {
	w := newWorld(t)
	dyn := w.Embedded(t, "it holds the first binding so that the others overlap it")
	const appid = "wxrace0000000002"
	w.Sim.AddAuthorizer(miniProgram(appid))
	tenants := []string{"acme", "globex", "initech", "umbrella"}
	var urls []string
	for _, tenant := range tenants {
		urls = append(urls, w.scan(t, w.start(t, tenant), appid))
	}
	dyn.HoldTransactionsOn(10*time.Second, func(a dynamoserver.HeldAction) bool {
		return a.Key[storage.AttrPK] == storage.AuthorizerPartition(appid) && a.Key[storage.AttrSK] == binding.SK
	})
	first := make(chan struct{})
	go func() { defer close(first); w.push(t, appid, mustQuery(urls[0], "auth_code")) }()
	waitUntil(t, "the first binding held", func() bool { return dyn.HeldTransactions() == 1 })
	var wg sync.WaitGroup
	for _, u := range urls[1:] {
		wg.Go(func() { w.push(t, appid, mustQuery(u, "auth_code")) })
	}
	waitUntil(t, "the three other bindings cancelled", func() bool { return dyn.Conflicts() >= 3 })
	dyn.SetTransactionHold(0)
	<-first
	wg.Wait()
	for i, u := range urls {
		status, res := get(t, u)
		switch {
		case i == 0 && status == 200 && res.Bound:
		case i > 0 && status == 422 && res.Problems[0].Code == authorization.ReasonBoundElsewhere:
		default:
			t.Errorf("tenant %s: %d %+v", tenants[i], status, res)
		}
	}
	// Three conflicts were seen before the release; one tenant's binding
	// may have been cancelled twice and another's not at all, so at least
	// one call was resolved by a retry, and none was left unresolved.
	if c := w.Calls.Conflicts(); c.Resolved == 0 || c.Unresolved != 0 {
		t.Fatalf("conflicts %+v: want the cancelled bindings resolved by retries", c)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStateAndCodeAttacks(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	u := w.authorize(t, w.start(t, "acme"), "wxacme0000000001")
	forge := func(f func(q url.Values)) string {
		p, _ := url.Parse(u)
		q := p.Query()
		f(q)
		p.RawQuery = q.Encode()
		return p.String()
	}
	parts := strings.SplitN(mustQuery(u, "state"), ".", 2)
	cases := []struct {
		name, url string
		status    int
		code      string
	}{
		{"no state", forge(func(q url.Values) { q.Del("state") }), 400, "missing_parameters"},
		{"no code", forge(func(q url.Values) { q.Del("auth_code") }), 400, "missing_parameters"},
		{"garbage state", forge(func(q url.Values) { q.Set("state", "abc") }), 400, "invalid_state"},
		{"state signed with another key", forge(func(q url.Values) { q.Set("state", parts[0]+".AAAA") }), 400, "invalid_state"},
		{"state payload swapped to another tenant", forge(func(q url.Values) {
			q.Set("state", strings.Replace(parts[0], parts[0][:4], "eyJ0", 1)+"x."+parts[1])
		}), 400, "invalid_state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, r := get(t, tc.url)
			if status != tc.status || r.Error.Code != tc.code {
				t.Fatalf("got %d %+v", status, r.Error)
			}
		})
	}
	if status, _ := get(t, u); status != 200 {
		t.Fatalf("the genuine callback failed: %d", status)
	}
	if status, r := get(t, u); status != 409 || r.Error.Code != "state_used" {
		t.Fatalf("replayed callback: %d %+v", status, r.Error)
	}
	// An expired state.
	late := w.scan(t, w.start(t, "acme"), "wxacme0000000001")
	w.Clock.Advance(authorization.StateTTL + time.Minute)
	if status, r := get(t, late); status != 400 || r.Error.Code != "state_expired" {
		t.Fatalf("expired state: %d %+v", status, r.Error)
	}
}

func TestExpiredAuthCode(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	u := w.scan(t, w.start(t, "acme"), "wxacme0000000001")
	w.Sim.ExpireAuthCode(mustQuery(u, "auth_code"))
	w.push(t, "wxacme0000000001", mustQuery(u, "auth_code"))
	status, res := get(t, u)
	if status != 422 || res.Problems[0].Code != authorization.ReasonAuthCodeExpired {
		t.Fatalf("got %d %+v", status, res)
	}
}

func mustQuery(u, key string) string {
	p, _ := url.Parse(u)
	return p.Query().Get(key)
}

func TestPushAndCallbackInEitherOrder(t *testing.T) {
	ctx := context.Background()
	for _, order := range []string{"push first", "callback first, push while it waits", "callback first, push after it gave up"} {
		t.Run(order, func(t *testing.T) {
			w := newWorld(t)
			w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
			u := w.scan(t, w.start(t, "acme"), "wxacme0000000001")
			code := mustQuery(u, "auth_code")
			var status int
			var res callbackReply
			switch order {
			case "push first":
				w.push(t, "wxacme0000000001", code)
				status, res = get(t, u)
			case "callback first, push while it waits":
				done := make(chan struct{})
				go func() {
					defer close(done)
					status, res = get(t, u)
				}()
				time.Sleep(300 * time.Millisecond)
				w.push(t, "wxacme0000000001", code)
				<-done
			default:
				status, res = get(t, u)
				if status != 202 || !res.Pending || res.Bound {
					t.Fatalf("callback before WeChat's push: %d %+v", status, res)
				}
				var st authorization.Status
				w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &st)
				if st.Finishing == nil || st.Mode != "public" {
					t.Fatalf("status while finishing %+v", st)
				}
				w.push(t, "wxacme0000000001", code)
				status, res = 200, callbackReply{Result: authorization.Result{Bound: true}}
				var after authorization.Status
				w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &after)
				if after.Finishing != nil || after.Mode != "enterprise" {
					t.Fatalf("status after the push %+v", after)
				}
			}
			if status != 200 || !res.Bound {
				t.Fatalf("callback %d %+v", status, res)
			}
			if w.Sim.Calls("api_query_auth") != 1 {
				t.Fatalf("the code was exchanged %d times", w.Sim.Calls("api_query_auth"))
			}
			b, err := binding.NewStore(w.DB).ByTenant(ctx, "acme")
			if err != nil || b.AppID != "wxacme0000000001" || !b.Bound() {
				t.Fatalf("binding %+v %v", b, err)
			}
		})
	}
}

// TestAnotherTenantsCodeNeverBindsToTheState: tenant A's callback
// replayed with tenant B's authorization code binds nothing to A and
// shows A nothing of B's mini program, whichever order the push comes in;
// B's own authorization still completes for B.
func TestAnotherTenantsCodeNeverBindsToTheState(t *testing.T) {
	for _, pushed := range []bool{true, false} {
		t.Run(fmt.Sprintf("B's push already arrived: %v", pushed), func(t *testing.T) {
			w := newWorld(t)
			w.Sim.AddAuthorizer(miniProgram("wxbeta00000000b1"))
			stateA := mustQuery(w.scan(t, w.start(t, "acme"), "wxbeta00000000b1"), "state")
			uB := w.scan(t, w.start(t, "globex"), "wxbeta00000000b1")
			codeB := mustQuery(uB, "auth_code")
			if pushed {
				w.push(t, "wxbeta00000000b1", codeB)
			}
			forged := w.Base + "/wechat/auth/callback?" + url.Values{"state": {stateA}, "auth_code": {codeB}}.Encode()
			status, res := get(t, forged)
			if res.Binding != nil || res.AppID != "" || res.Bound {
				t.Fatalf("A was shown B's authorization: %d %+v", status, res)
			}
			if pushed && (status != 409 || res.Error.Code != "authorization_mismatch") {
				t.Fatalf("A's state with B's code: %d %+v", status, res)
			}
			if !pushed && status != 202 {
				t.Fatalf("A's state with an unconfirmed code: %d %+v", status, res)
			}
			if !pushed {
				w.push(t, "wxbeta00000000b1", codeB)
			}
			a, err := binding.NewStore(w.DB).ByTenant(context.Background(), "acme")
			if err == nil && a.Bound() {
				t.Fatalf("B's mini program was bound to A: %+v", a)
			}
			b, err := binding.NewStore(w.DB).ByTenant(context.Background(), "globex")
			if err != nil || !b.Bound() || b.AppID != "wxbeta00000000b1" {
				t.Fatalf("B's own authorization: %+v %v", b, err)
			}
		})
	}
}

func TestUnauthorizedPushUnbinds(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	if status, _ := get(t, w.authorize(t, w.start(t, "acme"), "wxacme0000000001")); status != 200 {
		t.Fatal("bind failed")
	}
	w.Sim.Unauthorize("wxacme0000000001")
	if err := w.Sim.PushAuthEvent(ctx, w.PushURL(), "unauthorized", "wxacme0000000001", ""); err != nil {
		t.Fatal(err)
	}
	var st authorization.Status
	w.call(t, "GET", "/admin/miniprogram/binding", "acme", "", &st)
	if st.Mode != "public" || st.Binding == nil || st.Binding.Status != binding.StatusUnbound || st.Binding.UnboundReason != authorization.ReasonRevoked {
		t.Fatalf("status %+v", st)
	}
	ts, _ := tokens.FromDeps(w.Deps).AuthorizerStatus(ctx, "wxacme0000000001")
	if ts.Status != tokens.StatusUnauthorized {
		t.Fatalf("tokens %+v", ts)
	}
}

func TestAdminAPIRequiresAnAdminOfTheTenant(t *testing.T) {
	w := newWorld(t)
	if status := w.call(t, "GET", "/admin/miniprogram/binding", "", "", nil); status != 401 {
		t.Fatalf("anonymous: %d", status)
	}
	if r := w.Do("POST", "/admin/miniprogram/authorization", w.token(t, "acme", staffauth.RoleEngineer), nil); r.Status != 403 {
		t.Fatalf("engineer: %d", r.Status)
	}
}

func TestPortalSettings(t *testing.T) {
	w := newWorld(t)
	var st struct {
		GuestAccess     bool `json:"guest_access"`
		InvitationCodes bool `json:"invitation_codes"`
		Version         int  `json:"version"`
	}
	if status := w.call(t, "GET", "/admin/portal/settings", "acme", "", &st); status != 200 || !st.GuestAccess {
		t.Fatalf("defaults %d %+v", status, st)
	}
	body := `{"display_name":"Acme","guest_access":false,"invitation_codes":true,"serial_registration":true,"max_checkin_distance_m":300,"auto_release":true,"location_reason":"To find your equipment","version":0}`
	if status := w.call(t, "PUT", "/admin/portal/settings", "acme", body, &st); status != 200 || st.Version != 1 || st.GuestAccess {
		t.Fatalf("save %d %+v", status, st)
	}
	if status := w.call(t, "PUT", "/admin/portal/settings", "acme", body, nil); status != 409 {
		t.Fatalf("stale version: %d", status)
	}
	bad := strings.Replace(body, `"max_checkin_distance_m":300`, `"max_checkin_distance_m":1`, 1)
	if status := w.call(t, "PUT", "/admin/portal/settings", "acme", bad, nil); status != 400 {
		t.Fatalf("out of range: %d", status)
	}
	if status := w.call(t, "PUT", "/admin/portal/settings", "acme", `{"tenant":"globex"}`, nil); status != 400 {
		t.Fatalf("unknown field: %d", status)
	}
	var other struct {
		GuestAccess bool `json:"guest_access"`
	}
	w.call(t, "GET", "/admin/portal/settings", "globex", "", &other)
	if !other.GuestAccess {
		t.Fatal("settings leaked across tenants")
	}
}

func TestEventLeftUnprocessedIsRetried(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	u := w.scan(t, w.start(t, "acme"), "wxacme0000000001")
	code := mustQuery(u, "auth_code")
	// WeChat is down while the push arrives: the push is still stored and
	// answered "success", the binding waits.
	w.Sim.InjectError("api_query_auth", -1, 3)
	if err := w.Sim.PushAuthEvent(ctx, w.PushURL(), "authorized", "wxacme0000000001", code); err != nil {
		t.Fatal(err)
	}
	if _, err := binding.NewStore(w.DB).ByTenant(ctx, "acme"); err == nil {
		t.Fatal("bound although WeChat failed")
	}
	// The scheduled auditreconcile function retries it.
	reconcile := func() release.ReconcileSummary {
		t.Helper()
		sum, err := w.Jobs["auditreconcile"].Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sum.(release.ReconcileSummary)
	}
	if sum := reconcile(); sum.EventsDone != 1 || sum.EventsFailed != 0 {
		t.Fatalf("retry: %+v", sum)
	}
	b, err := binding.NewStore(w.DB).ByTenant(ctx, "acme")
	if err != nil || !b.Bound() {
		t.Fatalf("binding after retry %+v %v", b, err)
	}
	// Nothing is left to retry.
	if sum := reconcile(); sum.EventsDone != 0 {
		t.Fatalf("retried %d events twice", sum.EventsDone)
	}
}
