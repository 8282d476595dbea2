package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestEveryPageShowsTheAPIsAnswersAndItsErrors walks a tenant without a
// mini program of its own through every page: what the API refuses shows
// with its message and fix, invitations are created and revoked, the CRM
// connection is tested, a notification is turned off, and no page throws
// or trips the Content-Security-Policy.
func TestEveryPageShowsTheAPIsAnswersAndItsErrors(t *testing.T) {
	w := newWorld(t)
	ctx := w.browser
	// Opened without the CRM's token, the console says where to open it.
	w.run(ctx, "open without a token", chromedp.Navigate(stackConsoleURL()), waitText("main", "请从 CRM 打开控制台"))
	w.run(ctx, "open the console", chromedp.Navigate(stackConsoleURL()+"#token="+w.st.AdminToken), waitText("#binding", "平台公共小程序"))

	// Quick registration with details WeChat's rules refuse: the API's
	// message shows.
	w.run(ctx, "register with a bad code", chromedp.SendKeys(chromedp.CSS("#fr-name"), "示例设备有限公司"),
		chromedp.SendKeys(chromedp.CSS("#fr-code"), "123"), chromedp.SendKeys(chromedp.CSS("#fr-legal_persona_name"), "张三"),
		chromedp.SendKeys(chromedp.CSS("#fr-legal_persona_wechat"), "zhangsan01"), chromedp.SendKeys(chromedp.CSS("#fr-component_phone"), "13800138000"),
		click("#fr-ent-submit"), waitText("#fast-registration .error", "错误码"),
		chromedp.WaitVisible(chromedp.CSS("#fr-code[aria-invalid=true]")), w.screenshot("channel-error", "#quick-registration"))

	// Without a mini program of its own the release status says why.
	w.run(ctx, "release without a mini program", click("#nav-release"), waitText("#review .error", "错误码"),
		chromedp.WaitVisible(chromedp.CSS("#versions table")))

	// Invitations: create, then revoke with confirmation.
	w.run(ctx, "invite", click("#nav-settings"), chromedp.SendKeys(chromedp.CSS("#inv-customer"), "CUST-0042"),
		click("#inv-create"), waitText("#notice", "已生成邀请码"), waitText("#inv-list", "CUST-0042"),
		click("#inv-list .row-actions button, #inv-list td:last-child button"), click("#confirm-yes"), waitText("#inv-list", "已作废"),
		waitText("#registrations", "没有待审核的注册"))

	// Operations: the demo CRM's webhook, a test event, notifications.
	w.run(ctx, "operations", click("#nav-operations"), chromedp.WaitVisible(chromedp.CSS("#webhook-form")),
		click("#webhook-test"), waitText("#notice", "测试事件已发送"),
		click("#notify-form input[type=checkbox]"), click("#notify-form button[type=submit]"), waitText("#notice", "通知设置已保存"),
		waitText("#delivery-status", "没有死信"), w.screenshot("operations-crm", "#ops-crm"))

	// English, with the API's own messages as they are.
	w.run(ctx, "English", click("#lang"), click("#nav-release"), waitText("#review .error", "Code"))
	w.noPageErrors()
}
