package functions_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/app"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

// The fault suite: DynamoDB failing (whole table, one index, unprocessed
// batch keys) and WeChat misbehaving (timeouts, busy, pushes repeated or
// out of order). Each test shows that nothing is lost or duplicated and
// that every failure is a clear error the caller can retry, or a retry we
// make ourselves.

type faultWorld struct {
	*testenv.API
	admin    string
	engineer string
	scene    string
}

func newFaultWorld(t *testing.T, tune func(env *testenv.Env)) *faultWorld {
	t.Helper()
	w := &faultWorld{API: testenv.SetupWith(t, functions.Mount, tune)}
	w.admin = w.staffToken("acme", staffauth.RoleAdmin)
	w.engineer = w.staffToken("acme", staffauth.RoleEngineer)
	w.scene = w.must("POST", "/admin/qr-scenes", w.admin, map[string]any{}, nil, 201)["scene"].(string)
	return w
}

func (w *faultWorld) staffToken(tenantID, role string) string {
	return w.Staff(tenantID, role+"-1", role)
}

func (w *faultWorld) do(method, path, token string, body any, headers map[string]string) (int, map[string]any, string) {
	w.T.Helper()
	r := w.Send(apiclient.Request{Method: method, Path: path, Token: token, Body: body, Headers: headers})
	return r.Status, r.Body, r.Raw
}

func (w *faultWorld) must(method, path, token string, body any, headers map[string]string, want int) map[string]any {
	w.T.Helper()
	r := w.Send(apiclient.Request{Method: method, Path: path, Token: token, Body: body, Headers: headers})
	if r.Status != want {
		w.T.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r.Body
}

// expectError checks a failure's status and envelope code.
func (w *faultWorld) expectError(method, path, token string, body any, headers map[string]string, status int, code string) {
	w.T.Helper()
	w.MustError(w.Send(apiclient.Request{Method: method, Path: path, Token: token, Body: body, Headers: headers}), status, code)
}

func (w *faultWorld) login(openid string) string {
	w.T.Helper()
	return w.Must(w.Login(w.scene, openid), 200).Str("session_token")
}

func faultOrder(device string) map[string]any {
	return map[string]any{"category": "repair", "description": "The compressor makes a grinding noise", "device_sn": device,
		"contact_name": "Li Lei", "phone": "13800138000", "address": "88 Century Avenue, Pudong, Shanghai",
		"latitude": 31.2304, "longitude": 121.4737}
}

// myOrders lists the user's orders.
func (w *faultWorld) myOrders(session string) []any {
	list, _ := w.must("GET", "/portal/work-orders", session, nil, nil, 200)["work_orders"].([]any)
	return list
}

func (w *faultWorld) writes() int {
	c := w.Calls.Calls()
	return c["PutItem"] + c["UpdateItem"] + c["DeleteItem"] + c["TransactWriteItems"] + c["BatchWriteItem"]
}

// TestFaultStorageDownThenBack: with the whole table failing, every kind of
// request answers 503 storage_unavailable (WeChat and clients retry); when
// the table is back, the same retries succeed once each.
func TestFaultStorageDownThenBack(t *testing.T) {
	w := newFaultWorld(t, nil)
	ctx := context.Background()
	session := w.login("openid-down")
	service, platform := w.Deps.Config.ServiceTable, w.Deps.Config.PlatformTable
	key := map[string]string{"Idempotency-Key": "down-0000001"}

	w.Faults.FailTable(service, true)
	w.expectError("POST", "/portal/work-orders", session, faultOrder("AC-DOWN-1"), key, 503, "storage_unavailable")
	w.expectError("GET", "/engineer/work-orders/nearby?lat=31.23&lng=121.47&radius_km=5", w.engineer, nil, nil, 503, "storage_unavailable")
	w.expectError("GET", "/portal/work-orders", session, nil, nil, 503, "storage_unavailable")
	w.expectError("POST", "/admin/qr-scenes", w.admin, map[string]any{}, nil, 503, "storage_unavailable")
	// Login: WeChat accepted the code, but the user could not be saved;
	// the mini program calls wx.login again.
	code := w.Sim.IssueJSCode(testenv.PublicAppID, "openid-down-2", "")
	w.expectError("POST", "/portal/login", "", map[string]any{"code": code, "scene": w.scene}, nil, 503, "storage_unavailable")
	w.Faults.FailTable(service, false)

	w.Faults.FailTable(platform, true)
	sealed := w.capturePush(func(u string) error { _, err := w.Sim.PushTicket(ctx, u); return err })
	if status := w.deliver(sealed); status != 503 {
		t.Fatalf("ticket push with the platform table down: %d, want 503 so WeChat pushes again", status)
	}
	w.Faults.FailTable(platform, false)

	// Back: the same push and the same order go through, once.
	if status := w.deliver(sealed); status != 200 {
		t.Fatalf("ticket push after recovery: %d", status)
	}
	if status := w.deliver(sealed); status != 200 {
		t.Fatalf("repeated push: %d", status)
	}
	first := w.must("POST", "/portal/work-orders", session, faultOrder("AC-DOWN-1"), key, 201)
	again := w.must("POST", "/portal/work-orders", session, faultOrder("AC-DOWN-1"), key, 200)
	if again["replayed"] != true || again["work_order"].(map[string]any)["id"] != first["work_order"].(map[string]any)["id"] {
		t.Fatalf("retry after recovery: %v", again)
	}
	if n := len(w.myOrders(session)); n != 1 {
		t.Fatalf("%d orders after the outage and two retries, want 1", n)
	}
	w.login("openid-down-2") // a fresh wx.login code works
}

// TestFaultNearbyIndexDown: with the nearby index failing, engineers get a
// clear 503 while customers can still submit; when it is back, the orders
// submitted meanwhile are offered.
func TestFaultNearbyIndexDown(t *testing.T) {
	w := newFaultWorld(t, nil)
	session := w.login("openid-index")
	w.Faults.FailIndex(w.Deps.Config.ServiceTable, storage.IndexGSI2, true)
	w.expectError("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.49&radius_km=5", w.engineer, nil, nil, 503, "storage_unavailable")
	id := w.must("POST", "/portal/work-orders", session, faultOrder("AC-IDX-1"), nil, 201)["work_order"].(map[string]any)["id"]
	w.Faults.FailIndex(w.Deps.Config.ServiceTable, storage.IndexGSI2, false)
	list := w.must("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.49&radius_km=5", w.engineer, nil, nil, 200)["work_orders"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("nearby after the index came back: %v", list)
	}
}

// TestFaultUnprocessedBatchKeys: the read before a work order's
// transaction is one BatchGetItem. Keys DynamoDB leaves unprocessed are
// read again until they come back; if they never do, the request ends with
// a clear timeout and nothing is written.
func TestFaultUnprocessedBatchKeys(t *testing.T) {
	w := newFaultWorld(t, func(env *testenv.Env) { env.Deps.Config.RequestTimeout = 2500 * time.Millisecond })
	service := w.Deps.Config.ServiceTable
	session := w.login("openid-batch")

	// The first answer leaves every key unprocessed, the second one key.
	var left atomic.Int64
	w.Faults.LeaveUnprocessed(service, func(int, map[string]any) bool {
		return left.Add(1) <= 5 // 4 keys in the first batch, 1 in the second
	})
	w.Calls.Reset()
	w.must("POST", "/portal/work-orders", session, faultOrder("AC-BATCH-1"), map[string]string{"Idempotency-Key": "batch-000001"}, 201)
	// 3 for the order's read, 1 for the subscriptions its answer offers.
	if n := w.Calls.Calls()["BatchGetItem"]; n != 4 {
		t.Fatalf("%d BatchGetItem calls, want 4 (two answers left keys unprocessed)", n)
	}

	// Never processed: a timeout, and no write at all.
	w.Faults.LeaveUnprocessed(service, func(int, map[string]any) bool { return true })
	w.Calls.Reset()
	w.expectError("POST", "/portal/work-orders", session, faultOrder("AC-BATCH-2"), map[string]string{"Idempotency-Key": "batch-000002"}, 504, "timeout")
	if n := w.writes(); n != 0 {
		t.Fatalf("%d writes during a request whose reads never completed", n)
	}
	w.Faults.LeaveUnprocessed(service, nil)
	w.must("POST", "/portal/work-orders", session, faultOrder("AC-BATCH-2"), map[string]string{"Idempotency-Key": "batch-000002"}, 201)
	if n := len(w.myOrders(session)); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}

// TestFaultWeChatTimeoutAndBusy: a login whose code2session times out is a
// clear 502 (the code is never sent twice); a refresh that times out or
// meets -1 leaves the stored token in place and the next run recovers.
func TestFaultWeChatTimeoutAndBusy(t *testing.T) {
	w := newFaultWorld(t, func(env *testenv.Env) {
		d := env.Deps
		env.Deps = app.New(d.Config, d.Log, d.DB, d.Secrets, d.Now, &http.Client{Timeout: 300 * time.Millisecond})
	})
	ctx := context.Background()

	w.Sim.InjectDelay("jscode2session", time.Second, 1)
	code := w.Sim.IssueJSCode(testenv.PublicAppID, "openid-slow", "")
	w.Calls.Reset()
	w.expectError("POST", "/portal/login", "", map[string]any{"code": code, "scene": w.scene}, nil, 502, "wechat_unavailable")
	if n := w.writes(); n != 0 {
		t.Fatalf("%d writes for a failed login", n)
	}
	if n := w.Sim.Calls("jscode2session"); n != 1 {
		t.Fatalf("code2session called %d times; a code must be sent once", n)
	}
	w.login("openid-slow")

	// An enterprise mini program's token is due; WeChat times out, then is busy.
	const appid = "wxfa0170000000a001"
	u := w.authorize(appid, "gh_fa017", true)
	w.must("GET", u.Path+"?"+u.RawQuery, "", nil, nil, 200)
	status := func() map[string]any { return w.must("GET", "/admin/miniprogram/binding", w.admin, nil, nil, 200) }
	before := status()["tokens"].(map[string]any)

	w.Clock.Advance(110 * time.Minute) // inside the refresh window, still valid
	m := tokens.FromDeps(w.Deps)
	w.Sim.InjectDelay("api_authorizer_token", time.Second, 3)
	if sum, _ := m.RefreshDue(ctx); sum.Refreshed != 0 || sum.Failed != 1 {
		t.Fatalf("refresh during a WeChat timeout: %+v", sum)
	}
	// Busy (-1) for the whole run: we retry, then report the failure.
	w.Sim.InjectError("api_authorizer_token", -1, 100)
	w.Sim.ResetCalls()
	if sum, _ := m.RefreshDue(ctx); sum.Refreshed != 0 || sum.Failed != 1 {
		t.Fatalf("refresh while WeChat is busy: %+v", sum)
	}
	if n := w.Sim.Calls("api_authorizer_token"); n < 3 {
		t.Fatalf("busy answered %d times without our retrying", n)
	}
	w.Sim.ClearFaults()
	mid := status()["tokens"].(map[string]any)
	if mid["status"] != "active" || mid["expires_at"] != before["expires_at"] {
		t.Fatalf("the stored token changed while WeChat failed: %v → %v", before, mid)
	}
	if sum, err := m.RefreshDue(ctx); err != nil || sum.Refreshed != 1 {
		t.Fatalf("refresh after WeChat recovered: %+v, %v", sum, err)
	}
	if after := status()["tokens"].(map[string]any); after["expires_at"] == before["expires_at"] {
		t.Fatalf("token not refreshed: %v", after)
	}
}

// TestFaultAuthorizationPushesOutOfOrder: WeChat delivers an older
// `authorized` push after the `unauthorized` that followed it; the mini
// program stays unbound and its tokens stay stopped.
func TestFaultAuthorizationPushesOutOfOrder(t *testing.T) {
	w := newFaultWorld(t, nil)
	ctx := context.Background()
	const appid = "wxfa0170000000b002"
	authCode := w.authorize(appid, "gh_fa018", false)
	code := authCode.Query().Get("auth_code")
	pushURL := w.Base + "/wechat/component/events"

	// The authorized push is sealed now but delayed in WeChat's queue.
	late := w.capturePush(func(u string) error { return w.Sim.PushAuthEvent(ctx, u, "authorized", appid, code) })
	// The admin changes their mind before either reached us.
	w.Clock.Advance(time.Minute)
	w.Sim.Unauthorize(appid)
	if err := w.Sim.PushAuthEvent(ctx, pushURL, "unauthorized", appid, ""); err != nil {
		t.Fatal(err)
	}
	if status := w.deliver(late); status != 200 {
		t.Fatalf("late authorized push: %d", status)
	}
	st := w.must("GET", "/admin/miniprogram/binding", w.admin, nil, nil, 200)
	if b, ok := st["binding"].(map[string]any); ok && b["status"] == "bound" {
		t.Fatalf("an older authorized push re-bound a revoked mini program: %v", st)
	}
	// The admin's browser reaches the callback afterwards: still not bound.
	if status, out, raw := w.do("GET", authCode.Path+"?"+authCode.RawQuery, "", nil, nil); status != 422 || !strings.Contains(raw, `"authorization_revoked"`) || out["bound"] != false {
		t.Fatalf("callback after the revocation: %d %s, want 422 authorization_revoked", status, raw)
	}
	st = w.must("GET", "/admin/miniprogram/binding", w.admin, nil, nil, 200)
	if b, ok := st["binding"].(map[string]any); ok && b["status"] == "bound" {
		t.Fatalf("the callback re-bound a revoked mini program: %v", st)
	}
}

// TestFaultAuditPushesRepeatedAndLate: audit result pushes carry no audit
// id. A rejection whose push is held up in WeChat's queue (the reconcile
// schedule found the result first) arrives after the admin resubmitted;
// an approval is delivered twice, and sent again after the release. None
// of them moves the pipeline off the review it waits for or releases twice.
func TestFaultAuditPushesRepeatedAndLate(t *testing.T) {
	w := newFaultWorld(t, nil)
	ctx := context.Background()
	const appid, userName = "wxfa0170000000c003", "gh_fa019"
	u := w.authorize(appid, userName, true)
	w.must("GET", u.Path+"?"+u.RawQuery, "", nil, nil, 200)
	w.Sim.AddTemplate(wechatsim.Template{ID: 1, Version: "1.0.0", Desc: "portal"})
	w.Sim.SetPrivacyScanDelay(0)
	queue := startCapture(t) // WeChat's push queue: we deliver when we choose
	w.Sim.SetMessageURL(queue.url + "/wechat/events/$APPID$")
	state := func() map[string]any {
		return w.must("GET", "/admin/miniprogram/release-status", w.admin, nil, nil, 200)
	}

	first := w.must("POST", "/admin/miniprogram/review", w.admin, map[string]any{}, nil, 202)
	w.Sim.ScriptAudit(appid, wechatsim.AuditOutcome{Status: 1, Reason: "The service category does not match"})
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	lateRejection := queue.take(t)
	if _, err := w.Jobs["auditreconcile"].Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := state(); st["state"] != "rejected" {
		t.Fatalf("after the reconcile schedule: %v", st)
	}

	w.Clock.Advance(2 * time.Minute)
	second := w.must("POST", "/admin/miniprogram/review", w.admin, map[string]any{}, nil, 202)
	if second["audit_id"] == first["audit_id"] {
		t.Fatalf("the resubmission kept audit id %v", first["audit_id"])
	}
	if status := w.deliver(lateRejection); status != 200 {
		t.Fatalf("late rejection push: %d", status)
	}
	if st := state(); st["state"] != "under_review" || st["audit_id"] != second["audit_id"] {
		t.Fatalf("the first review's late rejection moved the second review: %v", st)
	}

	w.Clock.Advance(time.Minute)
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	approval := queue.take(t)
	for i := range 2 {
		if status := w.deliver(approval); status != 200 {
			t.Fatalf("approval push, delivery %d: %d", i+1, status)
		}
		if st := state(); st["state"] != "approved" {
			t.Fatalf("approval push, delivery %d: %v", i+1, st)
		}
	}
	w.must("POST", "/admin/miniprogram/release", w.admin, map[string]any{}, nil, 200)

	// WeChat sends the approval again (a new delivery, so a new nonce).
	again := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[o_system]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event></xml>",
		userName, w.Clock.Now().Unix())
	w.Clock.Advance(time.Second)
	if err := w.Sim.Push(ctx, w.Base+"/wechat/events/"+appid, "ToUserName", userName, []byte(again)); err != nil {
		t.Fatal(err)
	}
	if st := state(); st["state"] != "released" || st["released_version"] != "1.0.0" {
		t.Fatalf("a repeated approval after the release: %v", st)
	}
	if n := w.Sim.Calls("release"); n != 1 {
		t.Fatalf("WeChat saw %d releases, want 1", n)
	}
}

// authorize plays an admin authorizing a certified mini program in
// WeChat and returns WeChat's redirect to our callback, not yet followed;
// with push, WeChat has pushed the authorized event as it does.
func (w *faultWorld) authorize(appid, userName string, push bool) *url.URL {
	w.T.Helper()
	w.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, Name: "Acme", UserName: userName, PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/a.png", Signature: "after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	page := w.StartAuthorization(w.admin)
	scan := w.Sim.ScanAuthorization
	if push {
		scan = func(authURL, referer, appid string) (string, error) {
			redirect, _, err := w.Sim.ConfirmAuthorization(context.Background(), authURL, referer, appid)
			return redirect, err
		}
	}
	redirect, err := scan(page.PCURL, page.Referer(page.PCURL), appid)
	if err != nil {
		w.T.Fatal(err)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		w.T.Fatal(err)
	}
	return u
}

// capturePush runs send against a stand-in URL and returns the sealed
// request WeChat made, to be delivered later (or again).
func (w *faultWorld) capturePush(send func(url string) error) *http.Request {
	w.T.Helper()
	c := startCapture(w.T)
	if err := send(c.url + "/wechat/component/events"); err != nil {
		w.T.Fatal(err)
	}
	return c.take(w.T)
}

// deliver sends a captured push to our ticket push URL.
func (w *faultWorld) deliver(p *http.Request) int {
	w.T.Helper()
	body, _ := io.ReadAll(p.Body)
	p.Body = io.NopCloser(bytes.NewReader(body)) // deliverable again
	req, _ := http.NewRequest(p.Method, w.Base+p.URL.RequestURI(), bytes.NewReader(body))
	req.Header = p.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.T.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && string(reply) != "success" {
		w.T.Fatalf("push answered %q", reply)
	}
	return resp.StatusCode
}
