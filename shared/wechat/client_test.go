package wechat_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

const (
	componentAppID  = "wxc0mp0nent0000001"
	componentSecret = "secret"
)

func setup(t *testing.T) (*wechatsim.Sim, *wechat.Client) {
	t.Helper()
	sim, err := wechatsim.Start(wechatsim.Options{ComponentAppID: componentAppID, ComponentSecret: componentSecret,
		Token: "tok", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c := wechat.New(wechat.Config{BaseURL: sim.URL, ComponentAppID: componentAppID, ComponentSecret: wechat.StaticSecret(componentSecret),
		Timeout: 300 * time.Millisecond, Backoff: time.Millisecond})
	return sim, c
}

// countingSource records refreshes and mints through the client.
type countingSource struct {
	c         *wechat.Client
	sim       *wechatsim.Sim
	token     atomic.Value
	refreshes atomic.Int32
}

func (s *countingSource) Token(ctx context.Context) (string, error) {
	return s.token.Load().(string), nil
}
func (s *countingSource) Refresh(ctx context.Context, stale string) (string, error) {
	s.refreshes.Add(1)
	tok, err := s.c.ComponentToken(ctx, s.sim.IssueTicket())
	if err != nil {
		return "", err
	}
	s.token.Store(tok.AccessToken)
	return tok.AccessToken, nil
}

func newSource(t *testing.T, sim *wechatsim.Sim, c *wechat.Client) *countingSource {
	t.Helper()
	tok, err := c.ComponentToken(context.Background(), sim.IssueTicket())
	if err != nil {
		t.Fatal(err)
	}
	s := &countingSource{c: c, sim: sim}
	s.token.Store(tok.AccessToken)
	return s
}

func TestTypedComponentCalls(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	cat := newSource(t, sim, c)
	pre, err := c.CreatePreAuthCode(ctx, cat)
	if err != nil || pre.Code == "" || pre.ExpiresIn <= 0 {
		t.Fatalf("pre-auth %+v %v", pre, err)
	}
	sim.AddAuthorizer(wechatsim.Authorizer{AppID: "wx1111111111111111", Name: "Acme", UserName: "gh_acme", MiniProgram: true,
		VerifyType: 0, Permissions: []int{17, 18, 30}, Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment"}}})
	code, _ := sim.Authorize("wx1111111111111111")
	info, err := c.QueryAuth(ctx, cat, code)
	if err != nil || info.AuthorizerAppID != "wx1111111111111111" || info.AuthorizerRefreshToken == "" || len(info.PermissionIDs()) != 3 {
		t.Fatalf("query auth %+v %v", info, err)
	}
	if _, err := c.QueryAuth(ctx, cat, code); !wechat.IsCode(err, wechat.CodeAuthCodeInvalid) {
		t.Fatalf("a used auth code: %v", err)
	}
	tok, err := c.AuthorizerToken(ctx, cat, "wx1111111111111111", info.AuthorizerRefreshToken)
	if err != nil || !sim.ValidAuthorizerToken("wx1111111111111111", tok.AccessToken) {
		t.Fatalf("authorizer token %+v %v", tok, err)
	}
	ai, err := c.AuthorizerInfo(ctx, cat, "wx1111111111111111")
	if err != nil || ai.AuthorizerInfo.NickName != "Acme" || ai.AuthorizerInfo.MiniProgramInfo == nil || ai.AuthorizerInfo.VerifyTypeInfo.ID != 0 {
		t.Fatalf("authorizer info %+v %v", ai, err)
	}
	list, err := c.AuthorizerList(ctx, cat, 0, 100)
	if err != nil || list.TotalCount != 1 || list.List[0].RefreshToken != info.AuthorizerRefreshToken {
		t.Fatalf("list %+v %v", list, err)
	}
	js := sim.IssueJSCode("wx1111111111111111", "openid-1", "union-1")
	sess, err := c.ComponentCode2Session(ctx, cat, "wx1111111111111111", js)
	if err != nil || sess.OpenID != "openid-1" || sess.UnionID != "union-1" || sess.SessionKey == "" {
		t.Fatalf("session %+v %v", sess, err)
	}
	if _, err := c.ComponentCode2Session(ctx, cat, "wx1111111111111111", js); !wechat.IsCode(err, wechat.CodeCodeUsed) {
		t.Fatalf("a reused js_code: %v", err)
	}
	if err := c.StartPushTicket(ctx); err != nil {
		t.Fatal(err)
	}
	sim.AddPublicApp("wxpub", "pubsecret")
	js = sim.IssueJSCode("wxpub", "openid-2", "")
	if sess, err := c.Code2Session(ctx, "wxpub", "pubsecret", js); err != nil || sess.OpenID != "openid-2" {
		t.Fatalf("public session %+v %v", sess, err)
	}
	if _, err := c.Code2Session(ctx, "wxpub", "pubsecret", "bogus"); !wechat.IsCode(err, wechat.CodeInvalidCode) {
		t.Fatalf("bogus code: %v", err)
	}
}

func TestErrorDecodingCarriesCodeAndRID(t *testing.T) {
	_, c := setup(t)
	_, err := c.ComponentToken(context.Background(), "no-such-ticket")
	var apiErr *wechat.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != wechat.CodeTicketInvalid || apiErr.RID == "" || strings.Contains(apiErr.Msg, "rid:") {
		t.Fatalf("got %#v", err)
	}
	if apiErr.API != "api_component_token" {
		t.Fatalf("API %q", apiErr.API)
	}
}

func TestTokenErrorRefreshesOnceThenGivesUp(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	cat := newSource(t, sim, c)
	sim.InjectError("api_create_preauthcode", wechat.CodeTokenExpired, 1)
	if _, err := c.CreatePreAuthCode(ctx, cat); err != nil {
		t.Fatalf("one 42001 should be healed: %v", err)
	}
	if cat.refreshes.Load() != 1 {
		t.Fatalf("refreshes %d", cat.refreshes.Load())
	}
	sim.ResetCalls()
	sim.InjectError("api_create_preauthcode", wechat.CodeInvalidToken, 2)
	if _, err := c.CreatePreAuthCode(ctx, cat); !wechat.IsCode(err, wechat.CodeInvalidToken) {
		t.Fatalf("got %v", err)
	}
	if sim.Calls("api_create_preauthcode") != 2 || cat.refreshes.Load() != 2 {
		t.Fatalf("calls %d refreshes %d: must not loop", sim.Calls("api_create_preauthcode"), cat.refreshes.Load())
	}
}

func TestRetries(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	cat := newSource(t, sim, c)

	sim.InjectError("api_create_preauthcode", wechat.CodeBusy, 2)
	if _, err := c.CreatePreAuthCode(ctx, cat); err != nil {
		t.Fatalf("-1 twice then success: %v", err)
	}
	if sim.Calls("api_create_preauthcode") != 3 {
		t.Fatalf("calls %d", sim.Calls("api_create_preauthcode"))
	}

	sim.ResetCalls()
	sim.InjectError("api_create_preauthcode", wechat.CodeQuotaDaily, 1)
	if _, err := c.CreatePreAuthCode(ctx, cat); !wechat.IsCode(err, wechat.CodeQuotaDaily) {
		t.Fatalf("got %v", err)
	}
	if sim.Calls("api_create_preauthcode") != 1 {
		t.Fatalf("45009 was retried: %d calls", sim.Calls("api_create_preauthcode"))
	}

	// A js_code that reached WeChat is never sent twice, even when the
	// reply is lost to a timeout.
	sim.ResetCalls()
	sim.AddPublicApp("wxpub", "pubsecret")
	js := sim.IssueJSCode("wxpub", "o", "")
	sim.InjectDelay("jscode2session", time.Second, 1)
	if _, err := c.Code2Session(ctx, "wxpub", "pubsecret", js); err == nil {
		t.Fatal("timeout not reported")
	}
	if sim.Calls("jscode2session") != 1 {
		t.Fatalf("a non-idempotent call was retried after a timeout: %d calls", sim.Calls("jscode2session"))
	}

	// An idempotent call is retried after a timeout.
	sim.ResetCalls()
	sim.InjectDelay("api_get_authorizer_list", time.Second, 1)
	if _, err := c.AuthorizerList(ctx, cat, 0, 10); err != nil {
		t.Fatalf("idempotent retry: %v", err)
	}
	if sim.Calls("api_get_authorizer_list") != 2 {
		t.Fatalf("calls %d", sim.Calls("api_get_authorizer_list"))
	}
}

func TestNonIdempotentCallIsRetriedWhenItNeverLeft(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	c := wechat.New(wechat.Config{BaseURL: "http://" + addr, ComponentAppID: "x", Backoff: time.Millisecond})
	_, err = c.Code2Session(context.Background(), "wx", "s", "code")
	if err == nil || strings.Contains(err.Error(), "secret=") || strings.Contains(err.Error(), "code=code") {
		t.Fatalf("error %v must not carry the URL's secrets", err)
	}
}

func TestDoBinary(t *testing.T) {
	_, c := setup(t)
	// A JSON error body is an error, not an image (here: no appid in the query).
	_, _, err := c.DoBinary(context.Background(), wechat.Request{Method: "GET", Path: "/sns/jscode2session", API: "jscode2session"})
	if !wechat.IsCode(err, 41002) {
		t.Fatalf("got %v", err)
	}
}
