package wechatsim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
	"wxchannel/shared/wxcrypt"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func start(t *testing.T) (*wechatsim.Sim, *wechat.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	sim, err := wechatsim.Start(wechatsim.Options{ComponentAppID: "wxcomp", ComponentSecret: "s", Token: "tok", EncodingAESKey: key, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim, wechat.New(wechat.Config{BaseURL: sim.URL, ComponentAppID: "wxcomp", ComponentSecret: wechat.StaticSecret("s"), MaxAttempts: 1}), clk
}

func TestTokenLifetimesAndGrace(t *testing.T) {
	sim, c, clk := start(t)
	ctx := context.Background()
	first, err := c.ComponentToken(ctx, sim.IssueTicket())
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	second, _ := c.ComponentToken(ctx, sim.IssueTicket())
	if !sim.ValidComponentToken(first.AccessToken) || !sim.ValidComponentToken(second.AccessToken) {
		t.Fatal("the previous token must stay valid during the grace period")
	}
	clk.add(6 * time.Minute)
	if sim.ValidComponentToken(first.AccessToken) {
		t.Fatal("the previous token outlived the grace period")
	}
	if _, err := c.CreatePreAuthCode(ctx, wechat.StaticToken(first.AccessToken)); !wechat.IsCode(err, 42001) {
		t.Fatalf("old token after grace: %v", err)
	}
	if _, err := c.CreatePreAuthCode(ctx, wechat.StaticToken("made-up")); !wechat.IsCode(err, 40001) {
		t.Fatalf("unknown token: %v", err)
	}
	clk.add(2 * time.Hour)
	if _, err := c.CreatePreAuthCode(ctx, wechat.StaticToken(second.AccessToken)); !wechat.IsCode(err, 42001) {
		t.Fatalf("expired token: %v", err)
	}
	ticket := sim.IssueTicket()
	clk.add(13 * time.Hour)
	if _, err := c.ComponentToken(ctx, ticket); !wechat.IsCode(err, 61005) {
		t.Fatalf("expired ticket: %v", err)
	}
}

func TestCodesAreSingleUseAndQuotaLimited(t *testing.T) {
	sim, c, clk := start(t)
	ctx := context.Background()
	sim.AddPublicApp("wxpub", "ps")
	code := sim.IssueJSCode("wxpub", "o1", "")
	if _, err := c.Code2Session(ctx, "wxpub", "ps", code); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Code2Session(ctx, "wxpub", "ps", code); !wechat.IsCode(err, 40163) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := c.Code2Session(ctx, "wxpub", "wrong", sim.IssueJSCode("wxpub", "o1", "")); !wechat.IsCode(err, 40125) {
		t.Fatalf("bad secret: %v", err)
	}
	old := sim.IssueJSCode("wxpub", "o1", "")
	clk.add(6 * time.Minute)
	if _, err := c.Code2Session(ctx, "wxpub", "ps", old); !wechat.IsCode(err, 40029) {
		t.Fatalf("expired code: %v", err)
	}
	for i := range 100 { // the quota is 100 per user per minute
		if _, err := c.Code2Session(ctx, "wxpub", "ps", sim.IssueJSCode("wxpub", "o1", "")); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if _, err := c.Code2Session(ctx, "wxpub", "ps", sim.IssueJSCode("wxpub", "o1", "")); !wechat.IsCode(err, 45011) {
		t.Fatalf("over the minute quota: %v", err)
	}
}

func TestPushesAreSealedLikeWeChat(t *testing.T) {
	sim, _, _ := start(t)
	crypter, _ := wxcrypt.New("tok", key, "wxcomp", "")
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		inner, err := crypter.Open(wxcrypt.ParsePushParams(r.URL.Query()), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = inner
		_, _ = io.WriteString(w, "success")
	}))
	defer srv.Close()
	ticket, err := sim.PushTicket(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<ComponentVerifyTicket><![CDATA[" + ticket + "]]></ComponentVerifyTicket>"; !contains(got, want) {
		t.Fatalf("inner %s", got)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer bad.Close()
	if _, err := sim.PushTicket(context.Background(), bad.URL); err == nil {
		t.Fatal("a reply other than success must be reported")
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func TestInjectedFaults(t *testing.T) {
	sim, c, _ := start(t)
	ctx := context.Background()
	sim.InjectError("api_component_token", 45009, 1)
	if _, err := c.ComponentToken(ctx, sim.IssueTicket()); !wechat.IsCode(err, 45009) {
		t.Fatalf("got %v", err)
	}
	if _, err := c.ComponentToken(ctx, sim.IssueTicket()); err != nil {
		t.Fatalf("the fault is used up: %v", err)
	}
	if sim.Calls("api_component_token") != 2 {
		t.Fatalf("calls %d", sim.Calls("api_component_token"))
	}
}
