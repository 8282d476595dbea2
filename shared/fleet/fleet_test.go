package fleet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/fleet"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

// Template versions of the story: every tenant is released on A, then the
// platform adds B.
var (
	templateA = wechatsim.Template{ID: 21, Version: "1.0.0", Desc: "first release"}
	templateB = wechatsim.Template{ID: 22, Version: "1.1.0", Desc: "spare parts catalogue"}
)

// world is the product with the platform's operator signed in; the
// platform function is served through the Lambda adapter on its own base
// URL, the tenants' functions on the API's.
type world struct {
	*testenv.API
	platform apiclient.Client
	operator string
	admins   map[string]string // tenant → admin token
	appids   map[string]string // tenant → mini program
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{API: testenv.Setup(t, functions.Mount), admins: map[string]string{}, appids: map[string]string{}}
	h, _, err := lambdarun.Handler(context.Background(), "platformadmin", fleet.NewPlatformHandler, w.Deps)
	if err != nil {
		t.Fatal(err)
	}
	w.platform = testenv.ContractClient(t, testenv.ServeThroughLambda(t, h))
	w.operator = w.Staff(staffauth.PlatformTenant, "olga", staffauth.RoleOperator)
	w.Sim.SetMessageURL(w.MessageURL())
	w.Sim.SetPrivacyScanDelay(0)
	w.Sim.AddTemplate(templateA)
	return w
}

// op sends a request to the platform function.
func (w *world) op(method, path, token string, body any) apiclient.Reply {
	w.T.Helper()
	r, err := w.platform.Do(context.Background(), apiclient.Request{Method: method, Path: path, Token: token, Body: body})
	if err != nil {
		w.T.Fatal(err)
	}
	return r
}

// bind connects the tenant's own mini program through the real
// authorization flow.
func (w *world) bind(tenantID, appid string) {
	w.T.Helper()
	w.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, Name: tenantID + " Service", UserName: "gh_" + tenantID, PrincipalName: tenantID + " Ltd",
		HeadImg: "https://img.example/" + tenantID + ".png", Signature: tenantID + " after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	w.admins[tenantID] = w.Staff(tenantID, "admin-"+tenantID, staffauth.RoleAdmin)
	w.appids[tenantID] = appid
	w.Must(w.Authorize(w.admins[tenantID], appid), http.StatusOK)
}

// release takes a bound tenant's mini program through preparation, review
// (WeChat approves and pushes) and release of the latest template.
func (w *world) release(tenantID string) {
	w.T.Helper()
	admin, appid := w.admins[tenantID], w.appids[tenantID]
	w.Must(w.Do("POST", "/admin/miniprogram/prepare", admin, nil), http.StatusOK)
	w.Sim.ApprovePrivacyInterface(appid)
	w.Must(w.Do("POST", "/admin/miniprogram/review", admin, map[string]any{}), http.StatusAccepted)
	if err := w.Sim.FinishAudit(context.Background(), appid, true); err != nil {
		w.T.Fatal(err)
	}
	if st := w.Must(w.Do("POST", "/admin/miniprogram/release", admin, nil), http.StatusOK); st.Str("state") != string(release.StateReleased) {
		w.T.Fatalf("release of %s: %s", tenantID, st.Raw)
	}
}

func (w *world) releasedTenants(ids ...string) {
	w.T.Helper()
	for _, id := range ids {
		w.bind(id, appidOf(id))
		w.release(id)
	}
}

// appidOf is a tenant's mini program in the story (wx + 14 characters).
func appidOf(tenantID string) string { return "wx" + (tenantID + "00000000000000")[:10] + "flt1" }

func decode[T any](t *testing.T, r apiclient.Reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Raw), &v); err != nil {
		t.Fatalf("decode %s: %v", r.Raw, err)
	}
	return v
}

func resultsByTenant(v fleet.JobView) map[string]fleet.Result {
	out := map[string]fleet.Result{}
	for _, r := range v.Results {
		out[r.TenantID] = r
	}
	return out
}

func TestNewTemplateAlertsEveryTenantAndTheOperatorSubmitsThoseBehindOnce(t *testing.T) {
	w := newWorld(t)
	// Four tenants live on A; cedar's admin later empties its description;
	// fig resubmits A and is under review when B arrives; elm bound its mini
	// program but never prepared or submitted it.
	w.releasedTenants("acme", "birch", "cedar", "dune", "fig")
	w.Must(w.Do("POST", "/admin/miniprogram/review", w.admins["fig"], map[string]any{}), http.StatusAccepted)
	w.bind("elm", appidOf("elm"))
	if !w.Sim.SetDescription(w.appids["cedar"], "") {
		t.Fatal("the simulator does not know cedar's mini program")
	}

	w.Sim.AddTemplate(templateB)

	// Each tenant not under review sees the alert; fig, under review, does not.
	for tenantID, want := range map[string]bool{"acme": true, "birch": true, "cedar": true, "dune": true, "elm": true, "fig": false} {
		v := w.Must(w.Do("GET", "/admin/miniprogram/versions", w.admins[tenantID], nil), http.StatusOK)
		if v.Get("new_version_available") != want || v.Str("latest", "user_version") != templateB.Version {
			t.Errorf("%s's versions: new_version_available %v, want %v: %s", tenantID, v.Get("new_version_available"), want, v.Raw)
		}
	}

	// The operator sees who is on which version and who is behind.
	report := decode[fleet.Report](t, w.Must(w.op("GET", "/platform/versions", w.operator, nil), http.StatusOK))
	if report.Tenants != 6 || report.NotReleased != 1 || report.Latest == nil || report.Latest.TemplateID != templateB.ID {
		t.Fatalf("report %+v", report)
	}
	wantRows := []fleet.VersionCount{
		{Version: templateB.Version, TemplateID: templateB.ID},
		{Version: templateA.Version, TemplateID: templateA.ID, Released: 5, UnderReview: 1},
	}
	if len(report.Versions) != len(wantRows) || report.Versions[0] != wantRows[0] || report.Versions[1] != wantRows[1] {
		t.Fatalf("version counts %+v, want %+v", report.Versions, wantRows)
	}
	behind := map[string]fleet.TenantVersion{}
	for _, b := range report.Behind {
		behind[b.TenantID] = b
	}
	// The operator's view of each alert is the tenant's own.
	for tenantID, b := range behind {
		v := w.Must(w.Do("GET", "/admin/miniprogram/versions", w.admins[tenantID], nil), http.StatusOK)
		if v.Get("new_version_available") != b.NewVersionAvailable {
			t.Errorf("%s: the operator sees new_version_available %v, the admin %v", tenantID, b.NewVersionAvailable, v.Get("new_version_available"))
		}
	}
	if len(behind) != 6 || behind["elm"].BulkSkip != "not_prepared" || behind["fig"].BulkSkip != "review_pending" ||
		behind["fig"].NewVersionAvailable || !behind["acme"].NewVersionAvailable || behind["acme"].BulkSkip != "" ||
		behind["acme"].ReleasedVersion != templateA.Version || behind["acme"].AppID != w.appids["acme"] {
		t.Fatalf("behind %+v", report.Behind)
	}

	// Bulk submission of B to every tenant behind.
	commits, submits := w.Sim.Calls("commit"), w.Sim.Calls("submit_audit")
	req := map[string]any{"id": "upgrade-1-1-0", "template_id": templateB.ID, "all_behind": true}
	job := decode[fleet.JobView](t, w.Must(w.op("POST", "/platform/bulk-submit", w.operator, req), http.StatusOK))
	want := fleet.Counts{Targets: 6, Submitted: 3, Skipped: 2, Failed: 1}
	if job.Status != fleet.JobDone || job.Counts != want || job.Version != templateB.Version || job.CreatedBy != "olga" || len(job.Pending) != 0 {
		t.Fatalf("job %+v, want counts %+v", job, want)
	}
	results := resultsByTenant(job)
	for _, id := range []string{"acme", "birch", "dune"} {
		if r := results[id]; r.Outcome != fleet.OutcomeSubmitted || r.State != release.StateUnderReview || r.AuditID == 0 || r.AppID != w.appids[id] {
			t.Errorf("%s: %+v", id, r)
		}
	}
	if r := results["cedar"]; r.Outcome != fleet.OutcomeFailed || r.Code != "basic_info_incomplete" || r.WeChatCode != 86002 ||
		r.Solution == "" || r.State != release.StateSubmitFailed {
		t.Errorf("cedar: %+v", r)
	}
	if r := results["elm"]; r.Outcome != fleet.OutcomeSkipped || r.Code != "not_prepared" || r.Solution == "" {
		t.Errorf("elm: %+v", r)
	}
	if r := results["fig"]; r.Outcome != fleet.OutcomeSkipped || r.Code != "review_pending" {
		t.Errorf("fig: %+v", r)
	}
	// Four mini programs went to WeChat: three accepted, cedar refused.
	if c, s := w.Sim.Calls("commit")-commits, w.Sim.Calls("submit_audit")-submits; c != 4 || s != 4 {
		t.Fatalf("commit %d, submit_audit %d calls; want 4 each", c, s)
	}

	// The same request again, and the job read back: nothing resubmitted.
	again := decode[fleet.JobView](t, w.Must(w.op("POST", "/platform/bulk-submit", w.operator, req), http.StatusOK))
	if again.Counts != want || again.Run == nil || again.Run.Submissions != 0 || again.Run.Taken != 0 {
		t.Fatalf("repeated request %+v", again)
	}
	read := decode[fleet.JobView](t, w.Must(w.op("GET", "/platform/bulk-submit/upgrade-1-1-0", w.operator, nil), http.StatusOK))
	if read.Counts != want || resultsByTenant(read)["cedar"].Code != "basic_info_incomplete" || read.Run != nil {
		t.Fatalf("job read back %+v", read)
	}
	if c, s := w.Sim.Calls("commit")-commits, w.Sim.Calls("submit_audit")-submits; c != 4 || s != 4 {
		t.Fatalf("after the repeat: commit %d, submit_audit %d calls; want 4 each", c, s)
	}
	// The same id for another job is refused, not merged.
	other := map[string]any{"id": "upgrade-1-1-0", "template_id": templateB.ID, "tenants": []string{"acme"}}
	w.MustError(w.op("POST", "/platform/bulk-submit", w.operator, other), http.StatusConflict, "bulk_job_mismatch")

	// The tenants see where they stand: acme under review on B (no alert),
	// cedar's admin the failure and its fix.
	if v := w.Must(w.Do("GET", "/admin/miniprogram/versions", w.admins["acme"], nil), http.StatusOK); v.Get("new_version_available") != false ||
		v.Str("pipeline", "version") != templateB.Version {
		t.Fatalf("acme after the bulk submission: %s", v.Raw)
	}
	st := w.Must(w.Do("GET", "/admin/miniprogram/release-status", w.admins["cedar"], nil), http.StatusOK)
	if st.Str("state") != string(release.StateSubmitFailed) || st.Str("last_error", "code") != "basic_info_incomplete" {
		t.Fatalf("cedar's release status %s", st.Raw)
	}
	// The operator's counts follow.
	report = decode[fleet.Report](t, w.Must(w.op("GET", "/platform/versions", w.operator, nil), http.StatusOK))
	if report.Versions[0].UnderReview != 3 || report.Versions[0].Committed != 1 {
		t.Fatalf("counts after the bulk submission %+v", report.Versions)
	}
}

func TestPlatformRoutesAreTheOperatorsAndAdminRoutesTheTenants(t *testing.T) {
	w := newWorld(t)
	w.releasedTenants("acme")
	admin, engineer := w.admins["acme"], w.Staff("acme", "eng-1", staffauth.RoleEngineer)
	platformRoutes := []struct{ method, path string }{
		{"GET", "/platform/versions"}, {"POST", "/platform/bulk-submit"}, {"GET", "/platform/bulk-submit/any"},
	}
	body := map[string]any{"id": "x", "template_id": templateA.ID, "all_behind": true}
	for _, rt := range platformRoutes {
		w.MustError(w.op(rt.method, rt.path, admin, body), http.StatusForbidden, "forbidden_role")
		w.MustError(w.op(rt.method, rt.path, engineer, body), http.StatusForbidden, "forbidden_role")
		w.MustError(w.op(rt.method, rt.path, "", body), http.StatusUnauthorized, "missing_token")
	}
	for _, rt := range []struct{ method, path string }{
		{"GET", "/admin/miniprogram/versions"}, {"POST", "/admin/miniprogram/review"}, {"GET", "/admin/miniprogram/release-status"},
		{"POST", "/admin/miniprogram/authorization"},
	} {
		w.MustError(w.Do(rt.method, rt.path, w.operator, map[string]any{}), http.StatusForbidden, "forbidden_role")
	}
	// Nothing was submitted by the refused requests.
	if n := w.Sim.Calls("submit_audit"); n != 1 {
		t.Fatalf("submit_audit calls %d, want acme's first release only", n)
	}
}

func TestQuotaSpentHaltsTheRunAndTheSameRequestResumesIt(t *testing.T) {
	w := newWorld(t)
	w.releasedTenants("acme", "birch", "cedar")
	w.Sim.AddTemplate(templateB)
	submits := w.Sim.Calls("submit_audit")
	// WeChat's platform-wide review quota is spent for the next submission.
	w.Sim.InjectError("submit_audit", 85085, 1)
	req := map[string]any{"id": "quota", "template_id": templateB.ID, "tenants": []string{"cedar", "acme", "birch", "acme"}}
	job := decode[fleet.JobView](t, w.Must(w.op("POST", "/platform/bulk-submit", w.operator, req), http.StatusOK))
	if job.Status != fleet.JobHalted || job.Halted == nil || job.Halted.Code != "review_quota_exceeded" || job.Halted.Solution == "" ||
		job.Counts.Targets != 3 || job.Counts.Failed != 0 || job.Counts.Pending == 0 || job.Counts.Submitted+job.Counts.Pending != 3 {
		t.Fatalf("halted job %+v", job)
	}
	// Once the quota allows, the same request finishes the job.
	job = decode[fleet.JobView](t, w.Must(w.op("POST", "/platform/bulk-submit", w.operator, req), http.StatusOK))
	if job.Status != fleet.JobDone || job.Halted != nil || job.Counts != (fleet.Counts{Targets: 3, Submitted: 3}) {
		t.Fatalf("resumed job %+v", job)
	}
	// Each mini program reached review once; the refused call is the one more.
	if n := w.Sim.Calls("submit_audit") - submits; n != 4 {
		t.Fatalf("submit_audit calls %d, want 4", n)
	}
}

func TestARunTakesABoundedBatchAndReportsWhatRemains(t *testing.T) {
	w := newWorld(t)
	w.releasedTenants("acme", "birch", "cedar")
	w.Sim.AddTemplate(templateB)
	svc := fleet.NewService(release.ServiceFromDeps(w.Deps, tokens.FromDeps(w.Deps)), fleet.NewStore(w.DB),
		fleet.Throttle{PerRun: 2, Interval: time.Millisecond}, w.Deps.Now, w.Deps.Log)
	ctx := context.Background()
	req := fleet.BulkRequest{ID: "batches", TemplateID: templateB.ID, AllBehind: true}
	first, err := svc.BulkSubmit(ctx, "olga", req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != fleet.JobRunning || first.Run.Taken != 2 || len(first.Pending) != 1 || first.Pending[0] != "cedar" {
		t.Fatalf("first run %+v", first)
	}
	second, err := svc.BulkSubmit(ctx, "olga", req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != fleet.JobDone || second.Run.Taken != 1 || second.Counts.Submitted != 3 {
		t.Fatalf("second run %+v", second)
	}
}

func TestBulkRequestsAreCheckedBeforeAnythingRuns(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddTemplate(templateB)
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no id", map[string]any{"template_id": 22, "all_behind": true}, 400, "invalid_field"},
		{"id with a slash", map[string]any{"id": "a/b", "template_id": 22, "all_behind": true}, 400, "invalid_field"},
		{"id too long", map[string]any{"id": strings.Repeat("a", 65), "template_id": 22, "all_behind": true}, 400, "invalid_field"},
		{"no template", map[string]any{"id": "j", "all_behind": true}, 400, "invalid_field"},
		{"tenants and all_behind", map[string]any{"id": "j", "template_id": 22, "all_behind": true, "tenants": []string{"a"}}, 400, "invalid_selection"},
		{"neither tenants nor all_behind", map[string]any{"id": "j", "template_id": 22}, 400, "invalid_selection"},
		{"a tenant id with a quote", map[string]any{"id": "j", "template_id": 22, "tenants": []string{"a'; drop"}}, 400, "invalid_field"},
		{"too many tenants", map[string]any{"id": "j", "template_id": 22, "tenants": manyTenants(1001)}, 400, "invalid_field"},
		{"unknown field", map[string]any{"id": "j", "template_id": 22, "all_behind": true, "force": true}, 400, "unknown_field"},
		{"template not in the catalogue", map[string]any{"id": "j", "template_id": 99, "all_behind": true}, 404, "template_not_found"},
		{"an older template without manual", map[string]any{"id": "j", "template_id": 21, "all_behind": true}, 400, "manual_required"},
		{"body over 64 KiB", map[string]any{"id": "j", "template_id": 22, "tenants": []string{strings.Repeat("a", 70<<10)}}, 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.MustError(w.op("POST", "/platform/bulk-submit", w.operator, tc.body), tc.status, tc.code)
		})
	}
	w.MustError(w.op("GET", "/platform/bulk-submit/nothing-here", w.operator, nil), http.StatusNotFound, "bulk_job_not_found")
	w.MustError(w.op("GET", "/platform/bulk-submit/bad%20id", w.operator, nil), http.StatusBadRequest, "invalid_field")
	if n := w.Sim.Calls("submit_audit"); n != 0 {
		t.Fatalf("submit_audit called %d times", n)
	}

	// While another run holds the platform's lease, a request waits its turn.
	if _, _, err := fleet.NewStore(w.DB).TakeRunLease(context.Background(), "elsewhere", w.Clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	r := w.MustError(w.op("POST", "/platform/bulk-submit", w.operator, map[string]any{"id": "j", "template_id": 22, "all_behind": true}),
		http.StatusTooManyRequests, "bulk_run_in_progress")
	if r.Header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	w.Clock.Advance(2 * time.Minute) // the other run's lease expired
	w.Must(w.op("POST", "/platform/bulk-submit", w.operator, map[string]any{"id": "j", "template_id": 22, "all_behind": true}), http.StatusOK)
}

func manyTenants(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + strings.Repeat("x", i%30) + string(rune('a'+i%26))
	}
	return out
}
