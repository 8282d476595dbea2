package release_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat/wechatsim"
)

// solutionOf is the fix a refusal names.
func solutionOf(out map[string]any) string {
	details, _ := out["error"].(map[string]any)["details"].(map[string]any)
	s, _ := details["solution"].(string)
	return s
}

// refused fails unless the admin's POST is refused with status and
// code, with a fix to follow.
func (w *world) refused(path string, body any, status int, code string) {
	w.T.Helper()
	out := w.MustError(w.Do("POST", path, w.admin, body), status, code).Body
	if solutionOf(out) == "" {
		w.T.Fatalf("POST %s: refusal %s names no fix: %v", path, code, out)
	}
}

func testersOf(out map[string]any) map[string]map[string]any {
	byUserStr := map[string]map[string]any{}
	for _, t := range out["testers"].([]any) {
		m := t.(map[string]any)
		byUserStr[m["userstr"].(string)] = m
	}
	return byUserStr
}

func TestAdminAddsListsAndRemovesTrialTesters(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddWeChatUser(wechatsim.WeChatUser{WeChatID: "li_wei_88"})
	w.Sim.AddWeChatUser(wechatsim.WeChatUser{WeChatID: "hidden_user", Unsearchable: true})
	w.Sim.AddWeChatUser(wechatsim.WeChatUser{WeChatID: "busy_tester", TesterOfTooMany: true})
	w.Sim.AddWeChatUser(wechatsim.WeChatUser{WeChatID: "zhang_min"})

	added := w.call("POST", "/admin/miniprogram/testers", map[string]any{"wechat_id": "li_wei_88"}, 201)
	userStr, _ := added["userstr"].(string)
	if userStr == "" || added["wechat_id"] != "li_wei_88" || added["added_by"] != "admin" {
		t.Fatalf("added tester %v", added)
	}
	if got := w.Sim.Testers(appid); !slices.Equal(got, []string{"li_wei_88"}) {
		t.Fatalf("WeChat's testers %v", got)
	}

	// WeChat's refusals, each with its fix.
	w.refused("/admin/miniprogram/testers", map[string]any{"wechat_id": "li_wei_88"}, 409, "already_tester")
	w.refused("/admin/miniprogram/testers", map[string]any{"wechat_id": "nobody_here"}, 422, "wechat_user_not_found")
	w.refused("/admin/miniprogram/testers", map[string]any{"wechat_id": "hidden_user"}, 422, "wechat_user_not_found")
	w.refused("/admin/miniprogram/testers", map[string]any{"wechat_id": "busy_tester"}, 422, "user_tester_limit_reached")
	w.Sim.SetTesterLimit(1)
	w.refused("/admin/miniprogram/testers", map[string]any{"wechat_id": "zhang_min"}, 422, "tester_limit_reached")
	w.Sim.SetTesterLimit(90)
	// Hostile input never reaches WeChat.
	before := w.Sim.Calls("bind_tester")
	w.MustError(w.Do("POST", "/admin/miniprogram/testers", w.admin, map[string]any{"wechat_id": "a b"}), 400, "invalid_field")
	w.MustError(w.Do("POST", "/admin/miniprogram/testers", w.admin, map[string]any{}), 400, "invalid_field")
	w.Must(w.DoRaw("POST", "/admin/miniprogram/testers", w.admin, `{"wechat_id":"x","extra":1}`), 400)
	w.Must(w.DoRaw("POST", "/admin/miniprogram/testers", w.admin, `{"wechat_id":"`+string(bytes.Repeat([]byte("a"), 2000))+`"}`), 413)
	if n := w.Sim.Calls("bind_tester"); n != before {
		t.Fatalf("invalid input reached WeChat: %d calls, want %d", n, before)
	}

	// A tester added on WeChat's own console is listed without a WeChat ID.
	elsewhere, err := w.Deps.WeChat.BindTester(context.Background(), tokens.FromDeps(w.Deps).AuthorizerTokenSource(appid), "zhang_min")
	if err != nil {
		t.Fatal(err)
	}
	list := testersOf(w.call("GET", "/admin/miniprogram/testers", nil, 200))
	if len(list) != 2 || list[userStr]["wechat_id"] != "li_wei_88" || list[elsewhere] == nil || list[elsewhere]["wechat_id"] != nil {
		t.Fatalf("tester list %v", list)
	}

	// Removing: WeChat no longer lists them; a second removal is a 404.
	w.Must(w.Do("DELETE", "/admin/miniprogram/testers/"+userStr, w.admin, nil), 204)
	if got := w.Sim.Testers(appid); !slices.Equal(got, []string{"zhang_min"}) {
		t.Fatalf("WeChat's testers after removal %v", got)
	}
	list = testersOf(w.call("GET", "/admin/miniprogram/testers", nil, 200))
	if len(list) != 1 || list[elsewhere] == nil {
		t.Fatalf("tester list after removal %v", list)
	}
	w.MustError(w.Do("DELETE", "/admin/miniprogram/testers/"+userStr, w.admin, nil), 404, "tester_not_found")
	w.MustError(w.Do("DELETE", "/admin/miniprogram/testers/bad%20id", w.admin, nil), 400, "invalid_field")
	// Removed here, they can be added again.
	w.call("POST", "/admin/miniprogram/testers", map[string]any{"wechat_id": "li_wei_88"}, 201)

	// Only the tenant's admins manage testers, and only of a bound mini program.
	engineer := w.Staff("acme", "eng-1", staffauth.RoleEngineer)
	w.Must(w.Do("GET", "/admin/miniprogram/testers", engineer, nil), 403)
	other := newWorldBound(t, false)
	other.MustError(other.Do("GET", "/admin/miniprogram/testers", other.admin, nil), 409, "no_mini_program")
}

// later moves the clock by d as the world goes on meanwhile: WeChat
// keeps pushing verify tickets, the schedule keeps tokens fresh, and the
// admin signs in again.
func (w *world) later(d time.Duration) {
	w.T.Helper()
	ctx := context.Background()
	w.Clock.Advance(d)
	if _, err := w.Sim.PushTicket(ctx, w.PushURL()); err != nil {
		w.T.Fatal(err)
	}
	if _, err := tokens.FromDeps(w.Deps).RefreshDue(ctx); err != nil {
		w.T.Fatal(err)
	}
	w.admin = w.Staff("acme", "admin", staffauth.RoleAdmin)
}

func TestReviewQuotaIsShownAndASlowReviewCanBeSpedUpOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.Sim.SetReviewQuota(wechatsim.ReviewQuota{Limit: 30})

	st := w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	q := st["review_quota"].(map[string]any)
	if q["rest"] != 30.0 || q["limit"] != 30.0 || q["speedup_rest"] != 0.0 || st["speed_up"].(map[string]any)["reason"] != "no_review_pending" {
		t.Fatalf("status before any review %v", st)
	}
	w.MustError(w.Do("POST", "/admin/miniprogram/speedup", w.admin, nil), 409, "no_review_pending")

	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	offer := st["speed_up"].(map[string]any)
	submitted := st["submitted_at"].(float64)
	if st["review_quota"].(map[string]any)["rest"] != 29.0 || offer["offered"] != false || offer["reason"] != "not_slow_yet" ||
		offer["slow_after"] != submitted+release.SlowReviewAfter.Seconds() {
		t.Fatalf("status of a fresh review %v", st)
	}
	// Not slow yet: refused without asking WeChat.
	out := w.MustError(w.Do("POST", "/admin/miniprogram/speedup", w.admin, nil), 422, "review_not_slow").Body
	if out["error"].(map[string]any)["details"].(map[string]any)["slow_after"] != offer["slow_after"] {
		t.Fatalf("refusal names no time: %v", out)
	}

	// A day later the review is slow, but the platform has no speed-up left:
	// not offered, and WeChat refuses (89405).
	w.later(release.SlowReviewAfter + time.Hour)
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if offer := st["speed_up"].(map[string]any); offer["offered"] != false || offer["reason"] != "no_speedup_quota" ||
		slices.Contains(st["next_actions"].([]any), any(string(release.ActionSpeedUp))) {
		t.Fatalf("status of a slow review without quota %v", st)
	}
	w.refused("/admin/miniprogram/speedup", nil, 422, "speedup_quota_exhausted")

	// With quota: offered, accepted, recorded, and only once.
	w.Sim.SetReviewQuota(wechatsim.ReviewQuota{Limit: 30, SpeedUpLimit: 2})
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["speed_up"].(map[string]any)["offered"] != true || !slices.Contains(st["next_actions"].([]any), any(string(release.ActionSpeedUp))) {
		t.Fatalf("status of a slow review with quota %v", st)
	}
	auditID := int64(st["audit_id"].(float64))
	sped := w.call("POST", "/admin/miniprogram/speedup", nil, 200)
	if sped["sped_up_at"] == nil || sped["state"] != string(release.StateUnderReview) || !w.Sim.SpedUp(auditID) {
		t.Fatalf("speed-up %v (WeChat sped up: %v)", sped, w.Sim.SpedUp(auditID))
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["review_quota"].(map[string]any)["speedup_rest"] != 1.0 || st["speed_up"].(map[string]any)["reason"] != "already_sped_up" {
		t.Fatalf("status after the speed-up %v", st)
	}
	calls := w.Sim.Calls("speedupaudit")
	w.MustError(w.Do("POST", "/admin/miniprogram/speedup", w.admin, nil), 409, "already_sped_up")
	if n := w.Sim.Calls("speedupaudit"); n != calls {
		t.Fatalf("a second speed-up reached WeChat")
	}

	// A review WeChat delays is slow at once; the new review may be sped
	// up although the last one was.
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	w.Sim.AddTemplate(wechatsim.Template{ID: 13, Version: "1.2.0", Desc: "newer"})
	w.call("POST", "/admin/miniprogram/review", map[string]any{"template_id": 13}, 202)
	w.Sim.ScriptAudit(appid, wechatsim.AuditOutcome{Status: 4, Reason: "More time is needed"})
	if err := w.Sim.FinishAudit(ctx, appid, true); err != nil {
		t.Fatal(err)
	}
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["state"] != string(release.StateDelayed) || st["speed_up"].(map[string]any)["offered"] != true {
		t.Fatalf("status of a delayed review %v", st)
	}
	w.call("POST", "/admin/miniprogram/speedup", nil, 200)

	// WeChat not answering the quota leaves the status readable.
	w.Sim.InjectError("queryquota", -1, 10)
	defer w.Sim.ClearFaults()
	st = w.call("GET", "/admin/miniprogram/release-status", nil, 200)
	if st["review_quota"] != nil || st["review_quota_unavailable"].(map[string]any)["code"] != "review_quota_unavailable" ||
		st["state"] != string(release.StateDelayed) {
		t.Fatalf("status without the quota %v", st)
	}
}

// pngImage is a small PNG.
func pngImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// view fetches a screenshot link as the admin's browser does.
func view(t *testing.T, link string) (string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("view %s: %d %s", link, resp.StatusCode, data)
	}
	return resp.Header.Get("Content-Type"), data
}

// reject submits and has WeChat reject the review with screenshots.
func (w *world) reject(screenshots string) {
	w.T.Helper()
	w.Sim.ScriptAudit(appid, wechatsim.AuditOutcome{Status: 1, Reason: "Pages show no content", ScreenShot: screenshots})
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if err := w.Sim.FinishAudit(context.Background(), appid, true); err != nil {
		w.T.Fatal(err)
	}
}

func shotsOf(out map[string]any) []map[string]any {
	var shots []map[string]any
	for _, s := range out["screenshots"].([]any) {
		shots = append(shots, s.(map[string]any))
	}
	return shots
}

func TestRejectionScreenshotsAreFetchedOnceThenServedFromStorage(t *testing.T) {
	w := newWorld(t)
	pngShot, jpegShot := pngImage(t), wechatsim.ScreenshotImage("home-page")
	w.Sim.AddMedia(appid, "shot-png", wechatsim.Media{ContentType: "image/png", Data: pngShot})
	// WeChat's Content-Type is not trusted: the bytes say JPEG.
	w.Sim.AddMedia(appid, "shot-jpeg", wechatsim.Media{ContentType: "application/octet-stream", Data: jpegShot})
	w.reject("shot-png|shot-jpeg")
	if st := w.call("GET", "/admin/miniprogram/release-status", nil, 200); st["state"] != string(release.StateRejected) {
		t.Fatalf("not rejected: %v", st)
	}

	out := w.call("GET", "/admin/miniprogram/audit-screenshots", nil, 200)
	shots := shotsOf(out)
	if out["reason"] != "Pages show no content" || len(shots) != 2 || w.Sim.Calls("get_material") != 2 {
		t.Fatalf("screenshots %v (get_material calls %d)", out, w.Sim.Calls("get_material"))
	}
	want := []struct {
		contentType string
		data        []byte
	}{{"image/png", pngShot}, {"image/jpeg", jpegShot}}
	for i, s := range shots {
		if s["n"] != float64(i+1) || s["content_type"] != want[i].contentType || s["size"] != float64(len(want[i].data)) || s["problem"] != nil {
			t.Fatalf("screenshot %d: %v", i+1, s)
		}
		ct, data := view(t, s["url"].(string))
		if ct != want[i].contentType || !bytes.Equal(data, want[i].data) {
			t.Fatalf("screenshot %d viewed as %s, %d bytes", i+1, ct, len(data))
		}
	}

	// Viewed again: served from storage, WeChat is not asked again.
	again := shotsOf(w.call("GET", "/admin/miniprogram/audit-screenshots", nil, 200))
	if n := w.Sim.Calls("get_material"); n != 2 || len(again) != 2 {
		t.Fatalf("second view: %d get_material calls, %v", n, again)
	}
	if _, data := view(t, again[0]["url"].(string)); !bytes.Equal(data, pngShot) {
		t.Fatal("second view shows other bytes")
	}

	// The next submission's review has no screenshots of its own yet.
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	if shots := shotsOf(w.call("GET", "/admin/miniprogram/audit-screenshots", nil, 200)); len(shots) != 0 {
		t.Fatalf("screenshots of a pending review %v", shots)
	}
}

func TestScreenshotsThatCannotBeShownSayWhyAndTheOthersStillShow(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddMedia(appid, "text", wechatsim.Media{ContentType: "image/jpeg", Data: []byte("<html>not an image</html>")})
	huge := append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, release.MaxScreenshotBytes)...)
	w.Sim.AddMedia(appid, "huge", wechatsim.Media{ContentType: "image/jpeg", Data: huge})
	// "media1" is one of WeChat's default screenshots; "expired" is a
	// material WeChat no longer has (40007).
	w.reject("text|huge|expired|media1")

	// Storage failing at first: that screenshot says so and is fetched
	// again on the next view.
	w.S3Server().InjectError("PutObject", "InternalError", 20)
	shots := shotsOf(w.call("GET", "/admin/miniprogram/audit-screenshots", nil, 200))
	wantProblems := []string{"screenshot_not_an_image", "screenshot_too_large", "screenshot_unavailable", "screenshot_storage_unavailable"}
	if len(shots) != len(wantProblems) {
		t.Fatalf("screenshots %v", shots)
	}
	for i, s := range shots {
		p, _ := s["problem"].(map[string]any)
		if p == nil || p["code"] != wantProblems[i] || p["solution"] == "" || s["url"] != nil {
			t.Fatalf("screenshot %d: %v", i+1, s)
		}
	}
	w.S3Server().ClearErrors()
	shots = shotsOf(w.call("GET", "/admin/miniprogram/audit-screenshots", nil, 200))
	if last := shots[3]; last["problem"] != nil || last["content_type"] != "image/jpeg" {
		t.Fatalf("after storage recovered: %v", last)
	}
	if _, data := view(t, shots[3]["url"].(string)); !bytes.Equal(data, wechatsim.ScreenshotImage("media1")) {
		t.Fatal("the default screenshot shows other bytes")
	}
	// A tenant without a mini program has no screenshots to see.
	other := newWorldBound(t, false)
	other.MustError(other.Do("GET", "/admin/miniprogram/audit-screenshots", other.admin, nil), 409, "no_mini_program")
}
