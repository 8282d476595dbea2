package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"wxchannel/functions"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/wechat/wechatsim"
)

// The hosts the browser reaches: our API domain (the dev stack's public
// base), WeChat's authorization page and WeChat's image host. Chromium maps
// them all to one local TLS server, so the browser loads the console from
// the API's own domain, as in production, and follows WeChat's link to a
// stand-in for WeChat's page.
var (
	apiHost    = strings.TrimPrefix(stack.PublicAPIBase, "https://")
	wechatPage = mustURL(wechatsim.PCAuthPage)
	logoURL    = "https://wx.qlogo.cn/mmopen/console-test/0"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// world is a dev stack behind the TLS front, and a headless Chromium.
type world struct {
	t        *testing.T
	st       *stack.Stack
	front    *httptest.Server
	api      apiclient.Client
	sim      apiclient.Client
	browser  context.Context
	shots    string
	download string
	// appid is the mini program the admin picks on WeChat's page.
	mu     sync.Mutex
	appid  string
	errors []string
}

// chromePath finds Chromium, or skips the test saying how to install it
// (fails it when REQUIRE_CHROMIUM is set, as in CI).
func chromePath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROME_PATH"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	const how = "browser tests need Chromium: apt-get install -y chromium (or set CHROME_PATH)"
	if os.Getenv("REQUIRE_CHROMIUM") != "" {
		t.Fatal(how) // CI installs it: a missing browser must not pass as a skip
	}
	t.Skip(how)
	return ""
}

func newWorld(t *testing.T) *world {
	exe := chromePath(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := stack.Start(ctx, stack.Options{Addr: "127.0.0.1:0", DynamoDBEndpoint: os.Getenv("DYNAMODB_ENDPOINT"), LogLevel: "error",
		BrowserMapsPublicHosts: true}, functions.Mount)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if st.Sim == nil {
		t.Skip("the browser story plays WeChat with the simulator")
	}
	w := &world{t: t, st: st, shots: screenshotDir(t), download: t.TempDir()}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	w.api = apiclient.Client{Base: st.URL, HTTP: httpClient}
	w.sim = apiclient.Client{Base: st.Sim.URL, HTTP: httpClient}
	w.front = httptest.NewTLSServer(w.frontHandler())
	t.Cleanup(w.front.Close)

	front := strings.TrimPrefix(w.front.URL, "https://")
	var rules []string
	for _, host := range []string{apiHost, wechatPage.Host, mustURL(logoURL).Host} {
		rules = append(rules, "MAP "+host+" "+front)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("host-resolver-rules", strings.Join(rules, ", ")),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 760),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // containers run tests as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	w.listen(bctx)
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: w.download, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	w.browser = bctx
	return w
}

// listen records what the page itself reports going wrong: uncaught
// exceptions and Content-Security-Policy refusals.
func (w *world) listen(ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if strings.Contains(e.Entry.Text, "Content Security Policy") {
				msg = "csp: " + e.Entry.Text
			}
		}
		if msg != "" {
			w.mu.Lock()
			w.errors = append(w.errors, msg)
			w.mu.Unlock()
		}
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// frontHandler is the TLS server every mapped host reaches: WeChat's
// authorization page, WeChat's image host, else our API.
func (w *world) frontHandler() http.Handler {
	target, _ := url.Parse(w.st.URL)
	api := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case wechatPage.Host:
			w.wechatAuthorizationPage(rw, r)
		case mustURL(logoURL).Host:
			rw.Header().Set("Content-Type", "image/png")
			_, _ = rw.Write(logoPNG())
		default:
			api.ServeHTTP(rw, r)
		}
	})
}

// wechatAuthorizationPage plays WeChat's page the start page links to: the
// admin scans and confirms with the mini program's administrator's WeChat.
// The simulator's console checks the Referer the browser really sent and
// the pre-auth code, pushes the `authorized` event and answers the
// redirect, which the browser follows as it would WeChat's.
func (w *world) wechatAuthorizationPage(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	appid := w.appid
	w.mu.Unlock()
	authURL := wechatPage.Scheme + "://" + wechatPage.Host + r.URL.RequestURI()
	reply, err := w.sim.Expect(r.Context(), apiclient.Request{Method: http.MethodPost, Path: "/sim/authorize",
		Body: map[string]any{"auth_url": authURL, "referer": r.Referer(), "appid": appid}}, http.StatusOK)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(rw, r, reply.Str("redirect_url"), http.StatusFound)
}

func logoPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: 7, G: uint8(128 + x), B: uint8(74 + y), A: 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// screenshotDir is where the story's screenshots go: CONSOLE_SCREENSHOTS
// (relative to the module root; docs/console holds the committed ones),
// else a temporary directory.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs browser actions in ctx, failing the test with what the page
// shows when they fail.
func (w *world) run(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		text, _ := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body")))
		w.t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, text)
	}
}

// value runs one action that reads something from the page.
func value[T any](ctx context.Context, w *world, what string, a chromedp.Action[T]) T {
	w.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitText waits until the element sel contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			// A part re-rendered meanwhile replaces its nodes: read again.
			got, err := chromedp.Text(chromedp.CSS(sel))(ctx, t)
			if err == nil && strings.Contains(got, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				if err != nil {
					return fmt.Errorf("%q never showed %q: %w", sel, want, err)
				}
				return fmt.Errorf("%q never showed %q (last: %q)", sel, want, got)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// settled waits until nothing on the page is loading or acting (every
// part that does is aria-busy), so a click lands where the person sees the
// button.
var settled = chromedp.Poll[chromedp.Void](`document.querySelector('[aria-busy]') === null`,
	chromedp.WithPollingInterval(50*time.Millisecond))

// click clicks the element sel once the page has settled; a node replaced
// between finding and clicking it (a part re-rendered) is found again.
func click(sel string) chromedp.Action[chromedp.Void] {
	find := chromedp.Steps(settled, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		for range 5 {
			if _, err = find(ctx, t); err == nil || ctx.Err() != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
}

// screenshot saves the visible page as name.png, scrolled to the element
// at (if any) once nothing is loading.
func (w *world) screenshot(name string, at ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := settled(ctx, t); err != nil {
			return err
		}
		for _, sel := range at {
			if _, err := chromedp.Evaluate[chromedp.Void](`document.querySelector(`+strconv.Quote(sel)+`).scrollIntoView()`)(ctx, t); err != nil {
				return err
			}
		}
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(w.shots, name+".png"), buf, 0o644)
	})
}

func (w *world) simCall(path string, body any) apiclient.Reply {
	w.t.Helper()
	r, err := w.sim.Expect(context.Background(), apiclient.Request{Method: http.MethodPost, Path: path, Body: body}, http.StatusOK)
	if err != nil {
		w.t.Fatalf("simulator %s: %v", path, err)
	}
	return r
}

func (w *world) admin(method, path string, body any, want int) apiclient.Reply {
	w.t.Helper()
	r, err := w.api.Expect(context.Background(), apiclient.Request{Method: method, Path: path, Token: w.st.AdminToken, Body: body}, want)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// waitDownload waits for the browser to finish saving name.
func (w *world) waitDownload(name string) []byte {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(w.download, name))
		if err == nil && len(b) > 0 {
			return b
		}
		if !errors.Is(err, os.ErrNotExist) && err != nil {
			w.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(w.download)
			w.t.Fatalf("the browser saved no %s (the download folder has %v)", name, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noErrorShown checks that the page shows no error box (every part of it
// loaded).
func (w *world) noErrorShown(ctx context.Context, page string) {
	w.t.Helper()
	shown := value(ctx, w, "errors shown", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('.error')].map((e) => e.textContent)`))
	for _, e := range shown {
		w.t.Errorf("%s shows an error: %s", page, e)
	}
}

func (w *world) noPageErrors() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errors {
		w.t.Errorf("the page reported: %s", e)
	}
}

// newTab waits for the tab the click opens and attaches to it.
func (w *world) newTab(ctx context.Context, click chromedp.Action[chromedp.Void]) (context.Context, context.CancelFunc) {
	w.t.Helper()
	ch := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
	w.run(ctx, "click", click)
	select {
	case id := <-ch:
		tab, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		w.listen(tab)
		return tab, cancel
	case <-time.After(15 * time.Second):
		w.t.Fatal("no new tab opened")
		return nil, nil
	}
}
