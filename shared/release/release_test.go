package release_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat/wechatsim"
)

// world is the product with the acme tenant's admin signed in.
type world struct {
	*testenv.API
	admin string
}

const appid = "wxacme00000000r1"

// newWorld serves every function through the Lambda adapter, pushes a
// ticket, and binds the tenant's mini program through the real flow.
func newWorld(t testing.TB) *world { return newWorldBound(t, true) }

func newWorldBound(t testing.TB, bind bool) *world {
	t.Helper()
	w := &world{API: testenv.Setup(t, functions.Mount)}
	sim := w.Sim
	sim.SetMessageURL(w.MessageURL())
	sim.AddTemplate(wechatsim.Template{ID: 11, Version: "1.0.0", Desc: "first"})
	sim.AddTemplate(wechatsim.Template{ID: 12, Version: "1.1.0", Desc: "latest"})
	sim.SetPrivacyScanDelay(0)
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, Name: "Acme Service", UserName: "gh_acme00r1", PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/a.png", Signature: "Acme after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	w.admin = w.Staff("acme", "admin", staffauth.RoleAdmin)
	if !bind {
		return w
	}
	w.Must(w.Authorize(w.admin, appid), 200)
	return w
}

// call sends an admin request and returns its body when the status is want.
func (w *world) call(method, path string, body any, want int) map[string]any {
	w.T.Helper()
	return w.Must(w.Do(method, path, w.admin, body), want).Body
}

func TestSubmitRejectResubmitApproveReleaseQR(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// Prepare: every step reported; the location interface waits for
	// WeChat; running it again only finishes what is missing.
	steps := stepsOf(w.call("POST", "/admin/miniprogram/prepare", nil, 200))
	want := map[string]string{"categories": "done", "location_privacy_interface": "under_review", "privacy_settings": "done", "server_domains": "done", "ext_json": "done"}
	for name, status := range want {
		if steps[name] != status {
			t.Fatalf("prepare step %s = %q, want %q (%v)", name, steps[name], status, steps)
		}
	}
	if d := w.Sim.ServerDomains(appid); len(d) != 1 || d[0] != "https://api.example.test" {
		t.Fatalf("server domains %v", d)
	}
	w.Sim.ApprovePrivacyInterface(appid)
	steps = stepsOf(w.call("POST", "/admin/miniprogram/prepare", nil, 200))
	if steps["location_privacy_interface"] != "done" || steps["categories"] != "done" {
		t.Fatalf("second prepare %v", steps)
	}
	if n := w.Sim.Calls("addcategory"); n != 1 {
		t.Fatalf("categories added %d times", n)
	}
	// Before release only the trial QR code exists.
	if qr := w.call("GET", "/admin/miniprogram/qrcode", nil, 200); qr["kind"] != "trial" {
		t.Fatalf("qr %v", qr)
	}
	w.Sim.ScriptAudit(appid, wechatsim.AuditOutcome{Status: 1, Reason: "Service category does not match<br>the content"})
	st := w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if st["state"] != string(release.StateUnderReview) || st["version"] != "1.1.0" {
		t.Fatalf("submit %v", st)
	}
	// Submitting twice does not create a second review.
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 409)
	if n := w.Sim.Calls("submit_audit"); n != 1 {
		t.Fatalf("submit_audit calls %d", n)
	}
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["state"] != string(release.StateRejected) || st["last_error"].(map[string]any)["code"] != "review_rejected" ||
		!strings.Contains(st["audit_reason"].(string), "Service category") || len(st["screenshots"].([]any)) != 2 {
		t.Fatalf("after rejection %v", st)
	}
	// An older version needs an explicit manual submission.
	w.call("POST", "/admin/miniprogram/review", map[string]any{"template_id": 11}, 400)
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["state"] != string(release.StateApproved) {
		t.Fatalf("after approval %v", st)
	}
	st = w.call("POST", "/admin/miniprogram/release", nil, 200)
	if st["state"] != string(release.StateReleased) || w.Sim.ReleasedVersion(appid) != "1.1.0" {
		t.Fatalf("release %v", st)
	}
	if qr := w.call("GET", "/admin/miniprogram/qrcode", nil, 200); qr["kind"] != "release" || qr["image_base64"] == "" {
		t.Fatalf("qr %v", qr)
	}
	// Testers still reach the next trial version after the release.
	if qr := w.call("GET", "/admin/miniprogram/qrcode?kind=trial", nil, 200); qr["kind"] != "trial" || qr["image_base64"] == "" {
		t.Fatalf("trial qr after release %v", qr)
	}
	w.call("GET", "/admin/miniprogram/qrcode?kind=banner", nil, 400)
	v := w.call("GET", "/admin/miniprogram/versions", nil, 200)
	if v["new_version_available"] != false || v["mode"] != "enterprise" {
		t.Fatalf("versions %v", v)
	}
	// Nothing to roll back to after the first release.
	if out := w.call("POST", "/admin/miniprogram/rollback", nil, 422); out["error"].(map[string]any)["code"] != "no_previous_version" {
		t.Fatalf("rollback %v", out)
	}
	// A newer template: submit, approve, release, then roll back.
	w.Sim.AddTemplate(wechatsim.Template{ID: 13, Version: "1.2.0", Desc: "newer"})
	w.call("POST", "/admin/miniprogram/review", map[string]any{"template_id": 13}, 202)
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	// Approved and not yet released: the latest only needs releasing.
	if v := w.call("GET", "/admin/miniprogram/versions", nil, 200); v["new_version_available"] != false || v["release_pending"] != true {
		t.Fatalf("versions while 1.2.0 awaits release %v", v)
	}
	w.call("POST", "/admin/miniprogram/release", nil, 200)
	if v := w.call("GET", "/admin/miniprogram/versions", nil, 200); v["new_version_available"] != false || v["release_pending"] != false {
		t.Fatalf("versions after releasing 1.2.0 %v", v)
	}
	if got := w.Sim.ReleasedVersion(appid); got != "1.2.0" {
		t.Fatalf("released %s", got)
	}
	st = w.call("POST", "/admin/miniprogram/rollback", nil, 200)
	if st["released_version"] != "1.1.0" || w.Sim.ReleasedVersion(appid) != "1.1.0" {
		t.Fatalf("rollback %v (WeChat has %s)", st, w.Sim.ReleasedVersion(appid))
	}
}

func TestLostPushIsFinishedByTheSchedule(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.call("PUT", "/admin/portal/settings", map[string]any{"guest_access": true, "auto_release": true, "max_checkin_distance_m": 500, "version": 0}, 200)
	w.Sim.SetPrivacyScanDelay(5 * time.Minute)
	st := w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if st["state"] != string(release.StateWaitingScan) {
		t.Fatalf("submit during the privacy scan: %v", st)
	}
	job, _ := release.NewReconcileJob(ctx, w.Deps)
	w.Clock.Advance(6 * time.Minute)
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.Sim.Calls("commit"); n != 1 {
		t.Fatalf("commit calls %d: the resubmission must not re-commit", n)
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["state"] != string(release.StateUnderReview) {
		t.Fatalf("after the scan %v", st)
	}
	// WeChat approves but the push is lost; the schedule notices and,
	// with automatic release on, releases.
	if err := w.Sim.FinishAudit(ctx, appid, false); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["state"] != string(release.StateReleased) || w.Sim.ReleasedVersion(appid) != "1.1.0" {
		t.Fatalf("after reconcile %v", st)
	}
}

func TestWeChatErrorsShowStateAndFix(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *world)
		code  string
		state string
	}{
		{"privacy interface undeclared (61040)", func(w *world) { w.Sim.InjectError("submit_audit", 61040, 1) }, "privacy_not_declared", string(release.StateSubmitFailed)},
		{"review quota (85085)", func(w *world) { w.Sim.InjectError("submit_audit", 85085, 1) }, "review_quota_exceeded", string(release.StateSubmitFailed)},
		{"basic info incomplete (86002)", func(w *world) { w.Sim.InjectError("submit_audit", 86002, 1) }, "basic_info_incomplete", string(release.StateSubmitFailed)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(w)
			out := w.call("POST", "/admin/miniprogram/review", map[string]any{}, 422)
			if out["error"].(map[string]any)["code"] != tc.code {
				t.Fatalf("error %v", out)
			}
			st := w.call("GET", "/admin/miniprogram/release-status", nil, 200)
			le := st["last_error"].(map[string]any)
			if st["state"] != tc.state || le["code"] != tc.code || le["solution"] == "" || len(st["next_actions"].([]any)) == 0 {
				t.Fatalf("status %v", st)
			}
			// The next action works: submit again.
			w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
		})
	}
	t.Run("85009 reconciles instead of failing", func(t *testing.T) {
		w := newWorld(t)
		w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
		// Our record is lost track of (e.g. a withdrawn-then-resubmitted
		// review made outside); WeChat says one is pending.
		w.call("POST", "/admin/miniprogram/undo-review", nil, 200)
		w.Sim.InjectError("submit_audit", 85009, 1)
		st := w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
		if st["state"] == string(release.StateSubmitFailed) {
			t.Fatalf("85009 must reconcile: %v", st)
		}
	})
	t.Run("release without approval (85019) then resubmit", func(t *testing.T) {
		w := newWorld(t)
		out := w.call("POST", "/admin/miniprogram/release", nil, 422)
		if out["error"].(map[string]any)["code"] != "no_approved_version" {
			t.Fatalf("%v", out)
		}
		st := w.call("GET", "/admin/miniprogram/release-status", nil, 200)
		if st["state"] != string(release.StateReleaseFailed) {
			t.Fatalf("%v", st)
		}
		// Nothing is approved: releasing again cannot work.
		if next := st["next_actions"].([]any); len(next) != 1 || next[0] != string(release.ActionSubmit) {
			t.Fatalf("next actions after 85019: %v", next)
		}
		w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	})
	t.Run("release while under review (85020)", func(t *testing.T) {
		w := newWorld(t)
		w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
		out := w.call("POST", "/admin/miniprogram/release", nil, 422)
		if out["error"].(map[string]any)["code"] != "not_releasable" {
			t.Fatalf("%v", out)
		}
		if st := w.call("GET", "/admin/miniprogram/release-status", nil, 200); st["state"] != string(release.StateUnderReview) {
			t.Fatalf("a refused release must not lose the pending review: %v", st)
		}
	})
}

func stepsOf(out map[string]any) map[string]string {
	steps := map[string]string{}
	for _, s := range out["steps"].([]any) {
		m := s.(map[string]any)
		steps[m["step"].(string)] = m["status"].(string)
	}
	return steps
}

func TestPublicMiniProgramQRFromDayOne(t *testing.T) {
	w := newWorldBound(t, false)
	qr := w.call("GET", "/admin/miniprogram/qrcode?device_sn=AC-2024-0001", nil, 200)
	if qr["kind"] != "public" || qr["image_base64"] == "" || len(qr["scene"].(string)) > 32 {
		t.Fatalf("public qr %v", qr)
	}
	w.call("GET", "/admin/miniprogram/qrcode?device_sn=bad%20sn", nil, 400)
	// The public app's token is durable: a second code reuses it.
	w.call("GET", "/admin/miniprogram/qrcode", nil, 200)
	if n := w.Sim.Calls("token"); n != 1 {
		t.Fatalf("public token minted %d times", n)
	}
	// Without a binding there is nothing to submit.
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 409)
}
