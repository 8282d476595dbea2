package console_test

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"wxchannel/functions"
	"wxchannel/shared/authorization"
	"wxchannel/shared/local/stack"
)

// TestANewcomerUpgradesOnTheDevServerInAnOrdinaryBrowser is the newcomer's
// path: the dev stack as `make run` starts it, and a browser that maps no
// host. The admin opens the console link the dev server prints, clicks
// "Upgrade", opens the start page on the dev server, follows its button to
// the simulator's authorization page, picks the seeded enterprise mini
// program and confirms; the callback's page says it is connected, and the
// console shows it by itself.
func TestANewcomerUpgradesOnTheDevServerInAnOrdinaryBrowser(t *testing.T) {
	exe := chromePath(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := stack.Start(ctx, stack.Options{Addr: "127.0.0.1:0", DynamoDBEndpoint: os.Getenv("DYNAMODB_ENDPOINT"), LogLevel: "error"},
		functions.Mount)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if st.Sim == nil {
		t.Skip("the newcomer's path plays WeChat with the simulator")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1100, 760))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // containers run tests as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	w := &world{t: t, st: st, shots: screenshotDir(t), download: t.TempDir()}
	w.listen(bctx)
	w.browser = bctx

	w.run(bctx, "open the printed console link", chromedp.Navigate(st.URL+"/console/#token="+st.AdminToken),
		waitText("#binding", "平台公共小程序"))
	w.run(bctx, "upgrade", click("#upgrade"), chromedp.WaitVisible(chromedp.CSS("#start-link")))
	tab, closeTab := w.newTab(bctx, click("#start-link"))
	w.run(tab, "authorize on the simulator's page", chromedp.WaitVisible(chromedp.ID("wechat-pc")), click("#wechat-pc"),
		waitText("body", stack.DemoMiniProgram.Name), click("#confirm"), waitText("#result", "is connected"))
	back := value(tab, w, "the way back", chromedp.JavascriptAttribute[string](chromedp.ID("back-to-console"), "href"))
	closeTab()
	if back != st.URL+authorization.ConsoleChannelPath {
		t.Errorf("the result page links back to %s", back)
	}
	w.run(bctx, "see the binding", waitText("#mp-name", stack.DemoMiniProgram.Name), waitText("#binding", "企业专属小程序"))
	w.noPageErrors()
}
