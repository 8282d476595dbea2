package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"wxchannel/functions"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/browser"
	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/webhook/receiver"
	"wxchannel/shared/wechat/wechatsim"
)

// BenchmarkFunction runs one representative request per function through
// the function's own handler behind the API Gateway v2 adapter, as its
// Lambda runs it, against the embedded DynamoDB server and the simulator.
// Besides ns/op it reports, per request: DynamoDB calls counted at the
// client, by operation (ddb-calls/op), the wall time the DynamoDB server spent on them
// (storage-µs/op) and our path's wall time without it (handler-µs/op), the
// CPU time of our code (cpu-µs/op: the adapter, middleware, validation,
// crypto, the SDK's marshalling and the loopback I/O; not the DynamoDB
// server's nor the simulator's) and of the DynamoDB server
// (storage-cpu-µs/op), and WeChat calls (wechat-calls/op). Setup that a
// request needs (a fresh wx.login code, a fresh push) is outside the timer.
// Run it on one core (-cpu 1), as a Lambda function of up to 1,769 MB
// gets: with more, the Go scheduler's spinning between the in-process
// servers shows up as CPU time.
//
//	go test -run '^$' -bench BenchmarkFunction -benchtime 200x -cpu 1 ./functions/
func BenchmarkFunction(b *testing.B) {
	w := newBenchWorld(b)
	for _, f := range functions.All {
		c, ok := w.cases[f.Name]
		if !ok {
			b.Fatalf("no benchmark case for %s", f.Name)
		}
		b.Run(f.Name, func(b *testing.B) { w.measure(b, c) })
	}
}

// Latencies put back into the loopback stand-ins for BenchmarkLatency:
// roughly what a function in a China region sees calling DynamoDB in its
// region and api.weixin.qq.com.
const (
	latencyDynamoDB = 5 * time.Millisecond
	latencyWeChat   = 50 * time.Millisecond
)

// BenchmarkLatency times the requests of the public path (a ticket push,
// a login, a work-order create) through the same handlers as
// BenchmarkFunction, with each DynamoDB call answered after 5 ms and each
// WeChat call after 50 ms: the wall time then approximates a deployed
// function's, where the sequence of calls, not our CPU, dominates.
func BenchmarkLatency(b *testing.B) {
	w := newBenchWorld(b)
	dyn := w.env.Embedded(b, "it injects latency into the embedded server")
	dyn.SetLatency(latencyDynamoDB)
	w.env.Sim.SetLatency(latencyWeChat)
	b.Cleanup(func() { dyn.SetLatency(0); w.env.Sim.SetLatency(0) })
	for _, name := range []string{"ticketpush", "userlogin", "workordercreate"} {
		b.Run(name, func(b *testing.B) { w.measure(b, w.cases[name]) })
	}
}

// benchCase prepares request i outside the timer and returns what to time.
type benchCase func(b *testing.B, i int) func() int

type benchWorld struct {
	env      *testenv.Env
	router   http.Handler
	adapters map[string]*httpadapter.HandlerAdapterV2
	jobs     map[string]lambdarun.Scheduled
	workers  lambdarun.Workers
	cases    map[string]benchCase
	// crm is the bench tenant's webhook receiver (eventdelivery's case),
	// set as its webhook once crmSet.
	crm     *httptest.Server
	crmSet  bool
	capture *pushCapture

	admin, engineer, session, scene, orderID string
	users                                    []string
	appid                                    string
	seq, submissions                         int
}

const benchApp = "wxbe0c0000000000a1"

func newBenchWorld(b *testing.B, opts ...testenv.Option) *benchWorld {
	ctx := context.Background()
	env := testenv.New(b, opts...)
	router, workers, err := functions.Mount(ctx, env.Deps)
	if err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{env: env, router: router, adapters: map[string]*httpadapter.HandlerAdapterV2{}, jobs: map[string]lambdarun.Scheduled{}}
	w.workers = workers
	w.crm = httptest.NewServer(receiver.New())
	b.Cleanup(w.crm.Close)
	for _, j := range workers.Jobs {
		w.jobs[j.Name] = j
	}
	for _, f := range functions.All {
		if f.HTTP == nil {
			continue
		}
		h, _, err := lambdarun.Handler(ctx, f.Name, f.HTTP, env.Deps)
		if err != nil {
			b.Fatal(err)
		}
		w.adapters[f.Name] = httpadapter.NewV2(h)
	}
	w.capture = startCapture(b)
	env.Sim.SetMessageURL(w.capture.url + "/wechat/events/$APPID$")
	if _, err := env.Sim.PushTicket(ctx, w.capture.url+"/wechat/component/events"); err != nil {
		b.Fatal(err)
	}
	w.serveRouter(b, w.capture.take(b))
	if _, err := tokens.FromDeps(env.Deps).RefreshDue(ctx); err != nil {
		b.Fatal(err)
	}
	w.admin = w.staff(b, "acme", staffauth.RoleAdmin)
	w.engineer = w.staff(b, "acme", staffauth.RoleEngineer)
	w.appid = benchApp
	w.bind(b, "acme", benchApp)
	env.Sim.AddTemplate(wechatsim.Template{ID: 1, Version: "1.0.0", Desc: "portal"})
	env.Sim.SetPrivacyScanDelay(0)
	w.scene = w.json(b, "POST", "/admin/qr-scenes", w.admin, map[string]any{}, 201)["scene"].(string)
	w.session = w.login(b, "openid-bench")
	w.orderID = w.json(b, "POST", "/portal/work-orders", w.session, orderBody(0), 201)["work_order"].(map[string]any)["id"].(string)
	w.cases = w.buildCases()
	return w
}

// shanghai is the bench tenant's time zone (the default).
var shanghai = time.FixedZone("CST", 8*3600)

func (w *benchWorld) buildCases() map[string]benchCase {
	ctx := context.Background()
	req := jsonRequest
	return map[string]benchCase{
		"ticketpush": func(b *testing.B, i int) func() int {
			w.env.Clock.Advance(time.Second) // a newer ticket each time
			if _, err := w.env.Sim.PushTicket(ctx, w.capture.url+"/wechat/component/events"); err != nil {
				b.Fatal(err)
			}
			return w.lambda(b, "ticketpush", w.capture.take(b))
		},
		"authcallback": func(b *testing.B, i int) func() int {
			tenantID, appid := fmt.Sprintf("t%06d", i), fmt.Sprintf("wxbe0c%012d", i)
			redirect := w.authorizeLink(b, tenantID, appid)
			u, _ := url.Parse(redirect)
			return w.lambda(b, "authcallback", req("GET", u.Path+"?"+u.RawQuery, "", nil))
		},
		"adminbinding": func(b *testing.B, i int) func() int {
			return w.lambda(b, "adminbinding", req("GET", "/admin/miniprogram/binding", w.admin, nil))
		},
		"userlogin": func(b *testing.B, i int) func() int {
			code := w.env.Sim.IssueJSCode(testenv.PublicAppID, fmt.Sprintf("openid-login-%d", i%50), "")
			return w.lambda(b, "userlogin", req("POST", "/portal/login", "", map[string]any{"code": code, "scene": w.scene}))
		},
		"portalregister": func(b *testing.B, i int) func() int {
			return w.lambda(b, "portalregister", req("GET", "/portal/me", w.session, nil))
		},
		"adminportal": func(b *testing.B, i int) func() int {
			return w.lambda(b, "adminportal", req("POST", "/admin/qr-scenes", w.admin, map[string]any{"device_sn": fmt.Sprintf("SN-%06d", i)}))
		},
		"workordercreate": func(b *testing.B, i int) func() int {
			// Ten orders an hour per user: a new user every ten requests.
			if len(w.users) == 0 || i%10 == 0 {
				w.users = append(w.users, w.login(b, fmt.Sprintf("openid-create-%d", i)))
			}
			return w.lambda(b, "workordercreate", req("POST", "/portal/work-orders", w.users[len(w.users)-1], orderBody(i),
				"Idempotency-Key", fmt.Sprintf("bench-key-%08d", i)))
		},
		"workorders": func(b *testing.B, i int) func() int {
			return w.lambda(b, "workorders", req("GET", "/portal/work-orders/"+w.orderID, w.session, nil))
		},
		"engineerapi": func(b *testing.B, i int) func() int {
			return w.lambda(b, "engineerapi", req("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.4900&radius_km=5", w.engineer, nil))
		},
		"reviewsubmit": func(b *testing.B, i int) func() int {
			if w.releaseState(b) == "under_review" { // reject it, so a new submission is allowed
				w.finishAudit(b, true)
			}
			w.countSubmission(b)
			return w.lambda(b, "reviewsubmit", req("POST", "/admin/miniprogram/review", w.admin, map[string]any{}))
		},
		"wechatevents": func(b *testing.B, i int) func() int {
			// A submitted review is rejected; WeChat's push is what we time.
			if w.releaseState(b) != "under_review" {
				w.countSubmission(b)
				w.json(b, "POST", "/admin/miniprogram/review", w.admin, map[string]any{}, 202)
			}
			return w.lambda(b, "wechatevents", w.finishAudit(b, false))
		},
		"releaseadmin": func(b *testing.B, i int) func() int {
			return w.lambda(b, "releaseadmin", req("GET", "/admin/miniprogram/release-status", w.admin, nil))
		},
		"adminmileage": func(b *testing.B, i int) func() int {
			// A week's report; the bench world's engineers made no visits.
			day := w.env.Clock.Now().In(shanghai)
			period := "from=" + day.AddDate(0, 0, -6).Format(time.DateOnly) + "&to=" + day.Format(time.DateOnly)
			return w.lambda(b, "adminmileage", req("GET", "/admin/mileage?"+period, w.admin, nil))
		},
		"tokenrefresh": func(b *testing.B, i int) func() int {
			return w.job(b, "tokenrefresh")
		},
		"visitclose": func(b *testing.B, i int) func() int {
			return w.job(b, "visitclose")
		},
		"auditreconcile": func(b *testing.B, i int) func() int {
			return w.job(b, "auditreconcile")
		},
		"admindesk": func(b *testing.B, i int) func() int {
			return w.lambda(b, "admindesk", req("GET", "/admin/work-orders?status=submitted&limit=20", w.admin, nil))
		},
		"adminevents": func(b *testing.B, i int) func() int {
			return w.lambda(b, "adminevents", req("GET", "/admin/events/status", w.admin, nil))
		},
		"eventfanout": func(b *testing.B, i int) func() int {
			rec := w.outboxRecord(b)
			h := w.workers.Streams[0].Handle
			return func() int {
				out, err := h(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
				if err != nil || len(out.BatchItemFailures) > 0 {
					b.Logf("eventfanout: %v %v", out, err)
					return 500
				}
				return 200
			}
		},
		"eventdelivery": func(b *testing.B, i int) func() int {
			msg := w.queuedEvent(b, i)
			h := w.workers.Queues[0].Handle
			return func() int {
				out, err := h(ctx, events.SQSEvent{Records: []events.SQSMessage{msg}})
				if err != nil || len(out.BatchItemFailures) > 0 {
					b.Logf("eventdelivery: %v %v", out, err)
					return 500
				}
				return 200
			}
		},
	}
}

// outboxRecord is the stream record of the newest event in the bench
// tenant's outbox, as the fan-out's trigger delivers it.
func (w *benchWorld) outboxRecord(b *testing.B) events.DynamoDBEventRecord {
	srv := w.env.Embedded(b, "it reads the service table's stream")
	recs := srv.StreamRecords(w.env.Deps.Config.ServiceTable, "", 0)
	for _, r := range slices.Backward(recs) {
		if stack.FanoutFilter(r) {
			return r
		}
	}
	b.Fatal("no outbox event in the stream")
	return events.DynamoDBEventRecord{}
}

// queuedEvent is a queued event as the delivery function's trigger hands
// it over, for the bench tenant, whose webhook (a receiver on loopback)
// it sets up the first time.
func (w *benchWorld) queuedEvent(b *testing.B, i int) events.SQSMessage {
	if !w.crmSet {
		w.json(b, "PUT", "/admin/webhook", w.admin, map[string]any{"url": w.crm.URL + "/hook", "version": 0}, 201)
		w.crmSet = true
	}
	rec := w.outboxRecord(b)
	body := rec.Change.NewImage["body"].String()
	return events.SQSMessage{MessageId: fmt.Sprintf("bench-%d", i), ReceiptHandle: fmt.Sprintf("bench-%d", i), Body: body,
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "MessageGroupId": "acme:" + w.orderID,
			"SentTimestamp": fmt.Sprint(w.env.Clock.Now().UnixMilli())}}
}

// measure times each request and reports the per-request figures. The
// garbage collector is off while a request is timed and runs between
// requests instead, so no request pays for the collection of garbage the
// in-process DynamoDB server made before it; CPU time is the process's
// less what the DynamoDB server and the simulator spent (metered on their
// own threads).
func (w *benchWorld) measure(b *testing.B, c benchCase) {
	var (
		calls       int
		busy, timed time.Duration
		cpu, ddbCPU time.Duration
		wx, failed  int
	)
	perOp := map[string]int{}
	dyn := w.env.Embedded(b, "it meters the embedded server's time")
	dyn.MeterCPU(true)
	w.env.Sim.MeterCPU(true)
	defer dyn.MeterCPU(false)
	defer w.env.Sim.MeterCPU(false)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(8 << 30))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i%20 == 0 {
			debug.FreeOSMemory() // collect now, not while a request is timed
		}
		w.seq++
		run := c(b, w.seq)
		dyn.ResetCalls()
		w.env.Calls.Reset()
		w.env.Sim.ResetCalls()
		cpu0 := cputime.Process()
		b.StartTimer()
		t0 := time.Now()
		status := run()
		timed += time.Since(t0)
		b.StopTimer()
		used := cputime.Process() - cpu0
		ddbCPU += dyn.CPU()
		cpu += used - dyn.CPU() - w.env.Sim.CPU()
		for op, n := range w.env.Calls.Calls() {
			calls += n
			perOp[op] += n
		}
		busy += dyn.Busy()
		wx += w.env.Sim.TotalCalls()
		if status >= 400 {
			failed++
		}
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(calls)/n, "ddb-calls/op")
	b.ReportMetric(float64(busy.Microseconds())/n, "storage-µs/op")
	b.ReportMetric(float64((timed-busy).Microseconds())/n, "handler-µs/op")
	if cputime.Supported() {
		b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/op")
		b.ReportMetric(float64(ddbCPU.Microseconds())/n, "storage-cpu-µs/op")
	}
	b.ReportMetric(float64(wx)/n, "wechat-calls/op")
	for op, c := range perOp {
		b.ReportMetric(float64(c)/n, "ddb-"+op+"/op")
	}
	if failed > 0 {
		b.Fatalf("%d of %d requests failed", failed, b.N)
	}
}

// lambda returns a call of function name's adapter with r as an API
// Gateway v2 event; the event is built now, outside the timer.
func (w *benchWorld) lambda(b *testing.B, name string, r *http.Request) func() int {
	ev, err := testenv.ToEvent(r)
	if err != nil {
		b.Fatal(err)
	}
	a := w.adapters[name]
	return func() int {
		resp, err := a.ProxyWithContext(context.Background(), ev)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode >= 400 {
			b.Logf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		return resp.StatusCode
	}
}

// countSubmission moves to a freshly bound mini program before WeChat's
// weekly limit of 20 submissions per mini program is reached.
func (w *benchWorld) countSubmission(b *testing.B) {
	w.submissions++
	if w.submissions%18 != 0 {
		return
	}
	tenantID, appid := fmt.Sprintf("r%06d", w.submissions), fmt.Sprintf("wxbe0d%012d", w.submissions)
	w.bind(b, tenantID, appid)
	w.admin, w.appid = w.staff(b, tenantID, staffauth.RoleAdmin), appid
}

// releaseState is the bound mini program's release pipeline state.
func (w *benchWorld) releaseState(b *testing.B) string {
	st, _ := w.json(b, "GET", "/admin/miniprogram/release-status", w.admin, nil, 200)["state"].(string)
	return st
}

// finishAudit makes WeChat reject the review under way and returns its
// push, delivered already when deliver is set.
func (w *benchWorld) finishAudit(b *testing.B, deliver bool) *http.Request {
	w.env.Sim.ScriptAudit(w.appid, wechatsim.AuditOutcome{Status: 1, Reason: "rejected for the benchmark"})
	if err := w.env.Sim.FinishAudit(context.Background(), w.appid, true); err != nil {
		b.Fatal(err)
	}
	push := w.capture.take(b)
	if deliver {
		w.serveRouter(b, push)
	}
	return push
}

func (w *benchWorld) job(b *testing.B, name string) func() int {
	j := w.jobs[name]
	return func() int {
		if _, err := j.Run(context.Background()); err != nil {
			b.Logf("%s: %v", name, err)
			return 500
		}
		return 200
	}
}

func (w *benchWorld) serveRouter(b *testing.B, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	w.router.ServeHTTP(rec, r)
	if rec.Code >= 400 {
		b.Fatalf("%s %s: %d %s", r.Method, r.URL, rec.Code, rec.Body)
	}
	return rec
}

func (w *benchWorld) json(b *testing.B, method, path, token string, body any, want int) map[string]any {
	rec := w.serveRouter(b, jsonRequest(method, path, token, body))
	if rec.Code != want {
		b.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

// jsonRequest is a request to serve in-process: body as JSON when given,
// a bearer token when given, then header name/value pairs.
func jsonRequest(method, path, token string, body any, headers ...string) *http.Request {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func (w *benchWorld) staff(b *testing.B, tenantID, role string) string {
	return w.env.StaffToken(b, tenantID, role+"-1", role)
}

func (w *benchWorld) login(b *testing.B, openid string) string {
	code := w.env.Sim.IssueJSCode(testenv.PublicAppID, openid, "")
	return w.json(b, "POST", "/portal/login", "", map[string]any{"code": code, "scene": w.scene}, 200)["session_token"].(string)
}

// authorizeLink starts the authorization of appid for tenantID, plays the
// admin confirming it and delivers WeChat's authorized push (which binds);
// it returns WeChat's redirect to our callback.
func (w *benchWorld) authorizeLink(b *testing.B, tenantID, appid string) string {
	w.env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, Name: "Bench " + tenantID, UserName: "gh_" + appid[6:], PrincipalName: "Bench Ltd",
		HeadImg: "https://img.example/a.png", Signature: "after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	start, _ := url.Parse(w.json(b, "POST", "/admin/miniprogram/authorization", w.staff(b, tenantID, staffauth.RoleAdmin), nil, 201)["start_url"].(string))
	rec := w.serveRouter(b, jsonRequest("GET", start.RequestURI(), "", nil, "User-Agent", testenv.DesktopBrowser))
	page := browser.Page{URL: start.String(), Header: rec.Header(), Body: rec.Body.String()}
	pc := page.LinkTo(wechatsim.PCAuthPage)
	w.env.Sim.SetPushURL(w.capture.url + "/wechat/component/events")
	defer w.env.Sim.SetPushURL("")
	redirect, _, err := w.env.Sim.ConfirmAuthorization(context.Background(), pc, page.Referer(pc), appid)
	if err != nil {
		b.Fatal(err)
	}
	w.serveRouter(b, w.capture.take(b))
	return redirect
}

func (w *benchWorld) bind(b *testing.B, tenantID, appid string) {
	u, _ := url.Parse(w.authorizeLink(b, tenantID, appid))
	w.json(b, "GET", u.Path+"?"+u.RawQuery, "", nil, 200)
}

func orderBody(i int) map[string]any {
	return map[string]any{"category": "repair", "description": "The compressor makes a grinding noise", "device_sn": fmt.Sprintf("AC-%06d", i),
		"contact_name": "Li Lei", "phone": "13800138000", "address": "88 Century Avenue, Pudong, Shanghai",
		"latitude": 31.2304 + float64(i%100)*0.0005, "longitude": 121.4737}
}

// pushCapture stands where our push URLs would be: it keeps what the
// simulator pushes and answers "success", so a benchmark can deliver the
// push to the function itself, timed.
type pushCapture struct {
	url string
	mu  sync.Mutex
	got []*http.Request
}

func startCapture(tb testing.TB) *pushCapture {
	c := &pushCapture{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		clone := httptest.NewRequest(r.Method, r.URL.RequestURI(), bytes.NewReader(body))
		clone.Header = r.Header.Clone()
		c.mu.Lock()
		c.got = append(c.got, clone)
		c.mu.Unlock()
		_, _ = io.WriteString(rw, "success")
	}))
	tb.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *pushCapture) take(tb testing.TB) *http.Request {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) == 0 {
		tb.Fatal("nothing was pushed")
	}
	r := c.got[0]
	c.got = c.got[1:]
	if !strings.HasPrefix(r.URL.Path, "/wechat/") {
		tb.Fatalf("push to %s", r.URL.Path)
	}
	return r
}
