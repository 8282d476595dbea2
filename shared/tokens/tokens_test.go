package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/iamcheck"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/logging"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

// world is a test environment with the ticket push endpoint served through
// the Lambda adapter and a pushed ticket.
// managerCtx is the context the token manager's tests call it under:
// their DynamoDB calls are recorded as the token manager's, which every
// function that calls WeChat may make (cmd/iamcoverage checks it).
func managerCtx() context.Context {
	return iamcheck.AsComponent(context.Background(), iamcheck.TokenManager)
}

// refreshJob is ctx as the scheduled tokenrefresh function runs
// RefreshDue: its calls are that function's.
func refreshJob(ctx context.Context) context.Context {
	return logging.WithFunction(ctx, "tokenrefresh")
}

func world(t testing.TB, opts ...testenv.Option) (*testenv.Env, *tokens.Manager) {
	t.Helper()
	env := testenv.New(t, opts...)
	h, err := componentpush.NewTicketPushHandler(nil)(managerCtx(), env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	url := testenv.ServeThroughLambda(t, httpapi.Middleware("ticketpush", env.Deps.Log, time.Minute, h)) + "/wechat/component/events"
	if _, err := env.Sim.PushTicket(managerCtx(), url); err != nil {
		t.Fatal(err)
	}
	return env, tokens.FromDeps(env.Deps)
}

// authorize binds n mini programs through api_query_auth, storing their
// tokens as the authorization flow does.
func authorize(t *testing.T, env *testenv.Env, m *tokens.Manager, n int) []string {
	t.Helper()
	ctx := managerCtx()
	wx := env.Deps.WeChat
	var appids []string
	for i := range n {
		appid := fmt.Sprintf("wx%016d", i+1)
		env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, MiniProgram: true, Permissions: []int{17, 18, 30}})
		code, err := env.Sim.Authorize(appid)
		if err != nil {
			t.Fatal(err)
		}
		info, err := wx.QueryAuth(ctx, m.ComponentTokenSource(), code)
		if err != nil {
			t.Fatal(err)
		}
		putAuthorizerTokens(t, m, info)
		appids = append(appids, appid)
	}
	return appids
}

// seedDueAuthorizers makes n mini programs authorize the platform at
// WeChat and stores their tokens at once (BatchWriteItem), each expiring
// in 10 minutes: due. It returns their appids. The seeding is the test's
// own, not the token manager's, so the IAM check does not see it.
func seedDueAuthorizers(t testing.TB, env *testenv.Env, m *tokens.Manager, n int) []string {
	t.Helper()
	appids := make([]string, 0, n)
	infos := make([]wechat.AuthorizationInfo, 0, n)
	for i := range n {
		appid := fmt.Sprintf("wx%016d", i+1)
		env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, MiniProgram: true})
		if _, err := env.Sim.Authorize(appid); err != nil {
			t.Fatal(err)
		}
		appids = append(appids, appid)
		infos = append(infos, wechat.AuthorizationInfo{AuthorizerAppID: appid, AuthorizerAccessToken: "due-" + appid,
			ExpiresIn: 600, AuthorizerRefreshToken: env.Sim.CurrentRefreshToken(appid)})
	}
	if err := tokens.SeedAuthorizerTokens(context.Background(), m, infos); err != nil {
		t.Fatal(err)
	}
	return appids
}

// putAuthorizerTokens stores an authorizer's tokens as the binding
// transaction does.
func putAuthorizerTokens(t testing.TB, m *tokens.Manager, info wechat.AuthorizationInfo) {
	t.Helper()
	ctx := managerCtx()
	put, err := m.AuthorizerTokensPut(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	if err := put.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPushRefreshRotateEndToEnd(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	job, err := tokens.NewRefreshJob(ctx, env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	cat, err := m.ComponentTokenSource().Token(ctx)
	if err != nil || !env.Sim.ValidComponentToken(cat) {
		t.Fatalf("component token %q valid=%v (%v)", cat, env.Sim.ValidComponentToken(cat), err)
	}
	if env.Sim.Calls("api_component_token") != 1 {
		t.Fatalf("component token calls %d", env.Sim.Calls("api_component_token"))
	}
	appids := authorize(t, env, m, 3)

	// Across a day of simulated time, a run every 5 minutes keeps every
	// token valid, and each token is minted once per lifetime, never more.
	env.Sim.ResetCalls()
	for step := range 24 * 12 {
		env.Clock.Advance(5 * time.Minute)
		if step%2 == 0 { // WeChat pushes a ticket every 10 minutes
			if _, err := env.Sim.PushTicket(ctx, ticketURL(t, env)); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := job.Run(refreshJob(ctx))
		if err != nil {
			t.Fatalf("step %d: %v (%+v)", step, err, sum)
		}
		for _, appid := range appids {
			tok, err := m.AuthorizerTokenSource(appid).Token(ctx)
			if err != nil || !env.Sim.ValidAuthorizerToken(appid, tok) {
				t.Fatalf("step %d: %s token not valid (%v)", step, appid, err)
			}
		}
		tok, _ := m.ComponentTokenSource().Token(ctx)
		if !env.Sim.ValidComponentToken(tok) {
			t.Fatalf("step %d: component token not valid", step)
		}
	}
	// 24 h / (2 h − 15 min) ≈ 13.7 refreshes per token.
	if c := env.Sim.Calls("api_component_token"); c < 13 || c > 14 {
		t.Fatalf("component token minted %d times in a day", c)
	}
	if c := env.Sim.Calls("api_authorizer_token"); c < 3*13 || c > 3*14 {
		t.Fatalf("authorizer tokens minted %d times in a day for 3 authorizers", c)
	}
}

var ticketURLs sync.Map

func ticketURL(t testing.TB, env *testenv.Env) string {
	t.Helper()
	if u, ok := ticketURLs.Load(env); ok {
		return u.(string)
	}
	h, _ := componentpush.NewTicketPushHandler(nil)(managerCtx(), env.Deps)
	u := testenv.ServeThroughLambda(t, h) + "/wechat/component/events"
	ticketURLs.Store(env, u)
	return u
}

func TestFiftyConcurrentRefreshersCallWeChatOncePerDueToken(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 5)
	// Make every token due, then run 50 refreshers at once, each with its
	// own manager as separate Lambdas would have.
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	env.Sim.ResetCalls()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := tokens.FromDeps(env.Deps).RefreshDue(refreshJob(ctx)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("refresher: %v", err)
	}
	if c := env.Sim.Calls("api_component_token"); c != 1 {
		t.Errorf("component token calls %d, want 1", c)
	}
	if c := env.Sim.Calls("api_authorizer_token"); c != len(appids) {
		t.Errorf("authorizer token calls %d, want %d", c, len(appids))
	}
	for _, appid := range appids {
		tok, err := m.AuthorizerTokenSource(appid).Token(ctx)
		if err != nil || !env.Sim.ValidAuthorizerToken(appid, tok) {
			t.Errorf("%s: token not valid after the race (%v)", appid, err)
		}
	}
}

func TestForcedRefreshOnInvalidTokenHappensOnce(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	wx := env.Deps.WeChat
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	// Another environment minted a token with our credentials: ours is
	// now rejected with 40001. Ten concurrent callers refresh it once.
	env.Sim.RevokeComponentTokens()
	env.Sim.ResetCalls()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := wx.CreatePreAuthCode(ctx, tokens.FromDeps(env.Deps).ComponentTokenSource()); err != nil {
				t.Errorf("pre-auth code: %v", err)
			}
		})
	}
	wg.Wait()
	if c := env.Sim.Calls("api_component_token"); c != 1 {
		t.Fatalf("component token calls %d, want 1", c)
	}
	// A 40001 storm (every call rejected) retries once and gives up.
	env.Sim.ResetCalls()
	env.Sim.InjectError("api_create_preauthcode", wechat.CodeInvalidToken, 5)
	_, err := wx.CreatePreAuthCode(ctx, m.ComponentTokenSource())
	if !wechat.IsCode(err, wechat.CodeInvalidToken) {
		t.Fatalf("got %v", err)
	}
	if c := env.Sim.Calls("api_create_preauthcode"); c != 2 {
		t.Fatalf("pre-auth calls %d, want 2 (one retry after one refresh)", c)
	}
}

func TestNoTicketAsksWeChatToPush(t *testing.T) {
	env := testenv.New(t)
	m := tokens.FromDeps(env.Deps)
	_, err := m.ComponentTokenSource().Token(managerCtx())
	if !errors.Is(err, tokens.ErrNoTicket) {
		t.Fatalf("got %v", err)
	}
	if env.Sim.Calls("api_start_push_ticket") != 1 {
		t.Fatalf("start push calls %d", env.Sim.Calls("api_start_push_ticket"))
	}
}

// Any function may find an authorizer token expired and refresh it on
// demand; when WeChat rejects the refresh token and the authorizer list
// cannot recover it, the authorizer needs re-authorization, whatever
// function found out.
func TestAnOnDemandRefreshWithARejectedRefreshTokenNeedsReauth(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.ComponentTokenSource().Token(ctx); err != nil {
		t.Fatal(err)
	}
	const appid = "wx0000000000000098"
	env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, MiniProgram: true})
	code, _ := env.Sim.Authorize(appid)
	info, err := env.Deps.WeChat.QueryAuth(ctx, m.ComponentTokenSource(), code)
	if err != nil {
		t.Fatal(err)
	}
	info.AuthorizerRefreshToken = "lost-and-wrong"
	putAuthorizerTokens(t, m, info)
	env.Sim.InjectError("api_get_authorizer_list", wechat.CodeBusy, 3)
	env.Clock.Advance(3 * time.Hour) // the stored token has expired
	if _, err := m.AuthorizerTokenSource(appid).Token(ctx); !errors.Is(err, tokens.ErrNeedsReauth) {
		t.Fatalf("on-demand refresh: %v, want needs reauthorization", err)
	}
	if st, _ := m.AuthorizerStatus(ctx, appid); !st.NeedsReauth {
		t.Fatalf("status %+v, want needs_reauth", st)
	}
}

func TestInvalidRefreshTokenRecoversOrNeedsReauth(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 2)
	// The first mini program is re-authorized outside our flow: our stored
	// refresh token is invalid, but the authorizer list has the new one.
	if _, err := env.Sim.Authorize(appids[0]); err != nil {
		t.Fatal(err)
	}
	// The second revokes and we never hear of it: 61003.
	env.Sim.Unauthorize(appids[1])
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	sum, err := m.RefreshDue(refreshJob(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Refreshed != 1 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	tok, err := m.AuthorizerTokenSource(appids[0]).Token(ctx)
	if err != nil || !env.Sim.ValidAuthorizerToken(appids[0], tok) {
		t.Fatalf("recovered authorizer token invalid: %v", err)
	}
	st, err := m.AuthorizerStatus(ctx, appids[1])
	if err != nil || st.Status != tokens.StatusUnauthorized {
		t.Fatalf("status %+v %v", st, err)
	}
	// A refresh token that WeChat rejects and the list cannot recover.
	env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: "wx0000000000000099", MiniProgram: true})
	code, _ := env.Sim.Authorize("wx0000000000000099")
	wx := env.Deps.WeChat
	info, _ := wx.QueryAuth(ctx, m.ComponentTokenSource(), code)
	info.AuthorizerRefreshToken = "lost-and-wrong"
	putAuthorizerTokens(t, m, info)
	env.Sim.InjectError("api_get_authorizer_list", wechat.CodeBusy, 3)
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	st, _ = m.AuthorizerStatus(ctx, "wx0000000000000099")
	if !st.NeedsReauth {
		t.Fatalf("status %+v, want needs_reauth", st)
	}
	if _, err := m.AuthorizerTokenSource("wx0000000000000099").Token(ctx); !errors.Is(err, tokens.ErrNeedsReauth) {
		t.Fatalf("got %v", err)
	}
	// Later runs no longer pick it up: it left the due index.
	env.Sim.ResetCalls()
	env.Clock.Advance(2 * time.Hour)
	_, _ = m.RefreshDue(refreshJob(ctx))
	if c := env.Sim.Calls("api_authorizer_token"); c != 1 { // only appids[0]
		t.Fatalf("authorizer token calls %d", c)
	}
}

func TestWeChatAndStorageFailuresLoseNothing(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 2)
	env.Clock.Advance(2*time.Hour - 10*time.Minute)

	// WeChat busy twice, then fine: retried inside the client.
	env.Sim.InjectError("api_component_token", wechat.CodeBusy, 2)
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatalf("busy WeChat should be retried: %v", err)
	}
	before, _ := m.ComponentTokenSource().Token(ctx)

	// Daily quota: the run stops early and reports it; the stored tokens
	// are untouched and still valid.
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	env.Sim.InjectError("api_component_token", wechat.CodeQuotaDaily, 1)
	if _, err := m.RefreshDue(refreshJob(ctx)); !wechat.IsCode(err, wechat.CodeQuotaDaily) {
		t.Fatalf("got %v", err)
	}
	after, _ := tokens.FromDeps(env.Deps).ComponentTokenSource().Token(ctx)
	if after != before || !env.Sim.ValidComponentToken(after) {
		t.Fatalf("a failed refresh changed or lost the stored token")
	}

	// DynamoDB fails between WeChat's reply and our write: the new token
	// is lost to us, but the stored one stays valid (WeChat keeps the old
	// token valid for a grace period) and the next run recovers.
	env.Sim.ResetCalls()
	failing := tokens.FromDeps(env.Deps)
	env.Sim.InjectDelay("api_component_token", 200*time.Millisecond, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		env.Faults.FailTable(env.Deps.Config.PlatformTable, true)
	}()
	if _, err := failing.RefreshDue(refreshJob(ctx)); err == nil {
		t.Fatal("refresh with DynamoDB down succeeded")
	}
	env.Faults.FailTable(env.Deps.Config.PlatformTable, false)
	stored, _ := tokens.FromDeps(env.Deps).ComponentTokenSource().Token(ctx)
	if stored != before || !env.Sim.ValidComponentToken(stored) {
		t.Fatalf("stored token changed or invalid after a failed write")
	}
	// The abandoned lease expires; the next run refreshes.
	env.Clock.Advance(time.Minute)
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatalf("recovery run: %v", err)
	}
	for _, appid := range appids {
		tok, err := m.AuthorizerTokenSource(appid).Token(ctx)
		if err != nil || !env.Sim.ValidAuthorizerToken(appid, tok) {
			t.Fatalf("%s token invalid after recovery: %v", appid, err)
		}
	}
	fresh, _ := m.ComponentTokenSource().Token(ctx)
	if fresh == before || !env.Sim.ValidComponentToken(fresh) {
		t.Fatalf("recovery did not mint a fresh component token")
	}
}
