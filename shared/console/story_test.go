package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/stack"
)

// TestAnAdminConnectsPreparesAndReleasesTheMiniProgramByClicking plays the
// enterprise story in a real browser: the CRM opens the console with a
// staff token; the admin upgrades to the enterprise mini program through
// our start page and WeChat's page (the simulator), prepares, submits,
// reads WeChat's rejection reason, submits again, releases and downloads a
// device's QR code; then saves portal settings a colleague changed
// meanwhile and reads the conflict; then switches to English.
func TestAnAdminConnectsPreparesAndReleasesTheMiniProgramByClicking(t *testing.T) {
	w := newWorld(t)
	ctx := w.browser
	console := stackConsoleURL()

	// The CRM opens the console with the token in the fragment; the page
	// keeps it in sessionStorage and takes it out of the address bar.
	w.run(ctx, "open the console",
		chromedp.Navigate(console+"#token="+w.st.AdminToken),
		waitText("#binding", "平台公共小程序"),
		w.screenshot("channel-public"))
	href := value(ctx, w, "address", chromedp.Location())
	stored := value(ctx, w, "token", chromedp.Evaluate[string](`sessionStorage.getItem('wxchannel.console.token')`))
	cookies := value(ctx, w, "cookies", chromedp.Evaluate[string](`document.cookie`))
	if strings.Contains(href, "token") || !strings.HasSuffix(href, "/console/#/channel") {
		t.Errorf("address bar after opening: %s", href)
	}
	if stored != w.st.AdminToken || cookies != "" {
		t.Errorf("token in sessionStorage %t, cookies %q", stored == w.st.AdminToken, cookies)
	}

	// The enterprise's certified mini program exists in WeChat.
	appid := "wxc0501e0000000001"
	w.mu.Lock()
	w.appid = appid
	w.mu.Unlock()
	w.simCall("/sim/authorizers", map[string]any{"appid": appid, "name": "设备服务助手", "user_name": "gh_console01",
		"principal_name": "示例设备有限公司", "head_img": logoURL, "signature": "设备售后服务", "mini_program": true, "certified": true,
		"permissions": []int{17, 18, 30}, "categories": []map[string]string{{"First": "工具", "Second": "设备管理"}}})

	w.run(ctx, "upgrade", click("#upgrade"), chromedp.WaitVisible(chromedp.CSS("#start-link")),
		chromedp.WaitVisible(chromedp.CSS("#connect svg.qr")), w.screenshot("channel-authorize"))
	tab, closeTab := w.newTab(ctx, click("#start-link"))
	w.run(tab, "authorize on WeChat's page", chromedp.WaitVisible(chromedp.ID("wechat-pc")), click("#wechat-pc"),
		waitText("#result", "is connected"))
	result := value(tab, w, "callback", chromedp.Text(chromedp.CSS("body")))
	closeTab()
	if !strings.Contains(result, appid) {
		t.Errorf("the callback showed %s", result)
	}
	// Back in the console, the status shows the outcome by itself.
	w.run(ctx, "see the binding", waitText("#mp-name", "设备服务助手"), waitText("#binding", "企业专属小程序"),
		waitText("#token-health", "正常"), w.screenshot("channel-enterprise"))
	w.noErrorShown(ctx, "the channel page")

	// Release: prepare (WeChat approves the location interface meanwhile).
	w.run(ctx, "prepare", click("#nav-release"), waitText("#release-state", "未提交"),
		click("#prepare"), waitText("#checklist", "位置接口"))
	w.simCall("/sim/privacy-interface/approve", map[string]any{"appid": appid})
	w.run(ctx, "prepare again", click("#prepare"),
		waitText(`#checklist [data-step=location_privacy_interface]`, "已完成"))

	// Submit; WeChat's reviewers reject with a reason.
	w.run(ctx, "submit", click("#submit"), waitText("#release-state", "审核中"))
	reason := "小程序首页未展示服务内容，请补充后重新提交"
	w.simCall("/sim/audit", map[string]any{"appid": appid, "status": 1, "reason": reason})
	w.run(ctx, "see the rejection", waitText("#release-state", "审核未通过"), waitText("#audit-reason", reason),
		chromedp.WaitVisible(chromedp.CSS("#screenshots")), w.screenshot("release-rejected", "#release-review"))

	// Submit again; approved; release.
	w.run(ctx, "resubmit", click("#submit"), waitText("#release-state", "审核中"))
	w.simCall("/sim/audit", map[string]any{"appid": appid, "status": 0})
	w.run(ctx, "see the approval", waitText("#release-state", "审核通过"), chromedp.WaitVisible(chromedp.CSS("#release")))
	w.run(ctx, "release", click("#release"), chromedp.WaitVisible(chromedp.CSS("#confirm-yes")),
		click("#confirm-yes"), waitText("#release-state", "已发布"), waitText("#released-version", "1.0.0"))

	// The device QR code, shown and downloaded.
	w.run(ctx, "device QR", chromedp.SendKeys(chromedp.CSS("#qr-sn"), "AC-2026-0001"), click("#qr-device"),
		chromedp.WaitVisible(chromedp.CSS("#qr-image")), waitText("#qr-shown", "正式版"), w.screenshot("release-released", "#release-qr"),
		click("#qr-download"))
	w.noErrorShown(ctx, "the release page")
	if img := w.waitDownload("device-AC-2026-0001.jpg"); len(img) < 100 {
		t.Errorf("the downloaded QR code has %d bytes", len(img))
	}
	// And the batch of stickers.
	w.run(ctx, "export stickers", chromedp.SendKeys(chromedp.CSS("#qr-sns"), "AC-2026-0001\nAC-2026-0002"),
		click("#qr-export"))
	zipped := w.waitDownload("device-qr-codes.zip")
	if zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped))); err != nil || len(zr.File) != 3 {
		t.Errorf("the sticker zip: %v, %d files", err, len(zr.File))
	}

	// A customer asks for service in the new mini program (the desk shows
	// the order below).
	orderID := w.customerOrder(appid)

	// Portal settings: a colleague saves while the admin edits.
	w.run(ctx, "open the settings", click("#nav-settings"), chromedp.WaitVisible(chromedp.CSS("#settings-form")),
		click("#set-guest_access"))
	current := w.admin(http.MethodGet, "/admin/portal/settings", nil, http.StatusOK)
	colleague := current.Body
	colleague["location_reason"] = "用于确认设备位置并派最近的工程师"
	w.admin(http.MethodPut, "/admin/portal/settings", colleague, http.StatusOK)
	w.run(ctx, "save a stale version", click("#settings-save"),
		waitText("#settings-out", "the settings changed since you loaded them"), w.screenshot("settings-conflict"))
	w.run(ctx, "reload and save", click("#settings-conflict-reload"),
		waitText("#set-location_reason-hint", "用户授权定位"), click("#set-guest_access"),
		click("#settings-save"), waitText("#notice", "已保存"))
	if got := w.admin(http.MethodGet, "/admin/portal/settings", nil, http.StatusOK); got.Get("guest_access") != false ||
		got.Str("location_reason") != colleague["location_reason"] {
		t.Errorf("saved settings: guest_access %v, location_reason %q", got.Get("guest_access"), got.Str("location_reason"))
	}

	// Operations: the admin adds an engineer to the directory and assigns
	// the customer's order.
	w.run(ctx, "add an engineer", click("#nav-operations"), chromedp.WaitVisible(chromedp.CSS("#engineer-form")),
		chromedp.SendKeys(chromedp.CSS("#eng-id"), stack.DemoEngineer), chromedp.SendKeys(chromedp.CSS("#eng-name"), "王伟"),
		chromedp.SendKeys(chromedp.CSS("#eng-skills"), "repair"), click("#engineer-form button[type=submit]"),
		waitText("#notice", "已保存工程师 王伟"), waitText("#engineers", stack.DemoEngineer))
	w.run(ctx, "assign the order", click("#desk-overdue"), click("#desk-filter button[type=submit]"),
		waitText("#desk-list", orderID), click("#desk-list select"), chromedp.SetValue(chromedp.CSS("#desk-list select"), stack.DemoEngineer),
		click("#desk-list .row-actions button"), waitText("#notice", "已派单 "+orderID), waitText("#desk-list", "已派单"),
		click("#mileage-show"), waitText("#mileage-report", "合计"), w.screenshot("operations", "#ops-desk"), click("#mileage-csv"))
	w.noErrorShown(ctx, "the operations page")
	if csv := w.waitDownload(mileageFile()); !bytes.HasPrefix(csv, []byte("\xef\xbb\xbf")) {
		t.Errorf("the mileage CSV starts %q", csv[:min(len(csv), 20)])
	}

	// At phone width the pages reflow; then English: the choice outlives a
	// reload, and so does the sign-in (sessionStorage), with no token in the
	// address bar.
	w.run(ctx, "phone width", chromedp.EmulateViewport(390, 844), click("#nav-channel"), waitText("#mp-name", "设备服务助手"),
		w.screenshot("channel-phone"), chromedp.EmulateViewport(1100, 760))
	w.run(ctx, "switch to English", click("#lang"), waitText("#nav-channel", "Channel"),
		chromedp.Reload(), waitText("#nav-release", "Release"), click("#nav-release"),
		waitText("#release-state", "released"), w.screenshot("release-english", "#release-review"))
	lang := value(ctx, w, "language", chromedp.Evaluate[string](`document.documentElement.lang`))
	if lang != "en" {
		t.Errorf("html lang %q after switching to English", lang)
	}
	w.noPageErrors()
}

// customerOrder plays a customer who opens the released mini program
// (wx.login through the simulator) and asks for a repair; it answers the
// order's id.
func (w *world) customerOrder(appid string) string {
	w.t.Helper()
	code := w.simCall("/sim/js-code", map[string]any{"appid": appid, "openid": "o-console-customer"}).Str("code")
	ctx := context.Background()
	login, err := w.api.Expect(ctx, apiclient.Request{Method: http.MethodPost, Path: "/portal/login",
		Body: map[string]any{"code": code, "appid": appid}}, http.StatusOK)
	if err != nil {
		w.t.Fatal(err)
	}
	order, err := w.api.Expect(ctx, apiclient.Request{Method: http.MethodPost, Path: "/portal/work-orders", Token: login.Str("session_token"),
		Headers: map[string]string{"Idempotency-Key": "console-story-1"},
		Body: map[string]any{"category": "repair", "description": "空调外机异响，运行中跳闸", "device_sn": "AC-2026-0001",
			"contact_name": "李雷", "phone": "13800138000", "address": "上海市浦东新区世纪大道 100 号", "latitude": 31.2304, "longitude": 121.4737}},
		http.StatusCreated)
	if err != nil {
		w.t.Fatal(err)
	}
	return order.Str("work_order", "id")
}

// mileageFile is the name the console gives this month's mileage CSV.
func mileageFile() string {
	now := time.Now()
	return "mileage-" + time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.Local).Format(time.DateOnly) + "-" + now.Format(time.DateOnly) + ".csv"
}

// stackConsoleURL is the console on the API's domain, as the CRM links it.
func stackConsoleURL() string { return "https://" + apiHost + "/console/" }
