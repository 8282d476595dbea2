package tokens_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

// BenchmarkRefreshRun measures one scheduled run that finds n due
// authorizer tokens through the due index and refreshes each against the
// simulator (8 at a time), counting WeChat and DynamoDB calls, for growing n.
func BenchmarkRefreshRun(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("authorizers=%d", n), func(b *testing.B) {
			if testing.Short() && n > 1000 {
				b.Skip("seeds 10,000 authorizers")
			}
			benchRefreshRun(b, n)
		})
	}
}

func benchRefreshRun(b *testing.B, n int) {
	env, m := world(b)
	ctx := context.Background()
	if _, err := m.RefreshDue(ctx); err != nil {
		b.Fatal(err)
	}
	seed := make([]*wechatsimAuth, 0, n)
	for i := range n {
		appid := fmt.Sprintf("wx%016d", i+1)
		env.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, MiniProgram: true})
		if _, err := env.Sim.Authorize(appid); err != nil {
			b.Fatal(err)
		}
		seed = append(seed, &wechatsimAuth{appid: appid, refresh: env.Sim.CurrentRefreshToken(appid)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Every authorizer's token expires within the window.
		for _, s := range seed {
			putAuthorizerTokens(b, m, wechat.AuthorizationInfo{AuthorizerAppID: s.appid,
				AuthorizerAccessToken: "old", ExpiresIn: 600, AuthorizerRefreshToken: s.refresh})
		}
		env.Sim.ResetCalls()
		env.Calls.Reset()
		b.StartTimer()
		start := time.Now()
		sum, err := m.RefreshDue(ctx)
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || sum.Refreshed != n {
			b.Fatalf("summary %+v, err %v", sum, err)
		}
		calls := env.Calls.Calls()
		b.ReportMetric(float64(env.Sim.Calls("api_authorizer_token")), "wechat-calls/run")
		b.ReportMetric(float64(calls["Query"]), "ddb-queries/run")
		total := 0
		for _, c := range calls {
			total += c
		}
		b.ReportMetric(float64(total)/float64(n), "ddb-calls/token")
		b.ReportMetric(float64(elapsed.Microseconds())/float64(n), "µs/token")
		env.Clock.Advance(time.Minute) // leases of this run expire
		b.StartTimer()
	}
}

type wechatsimAuth struct{ appid, refresh string }
