package tokens_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/logging"
	"wxchannel/shared/tokens"
)

// BenchmarkRefreshRun measures one scheduled run that finds n due
// authorizer tokens through the due index and refreshes each against the
// simulator on loopback (no injected latency), counting WeChat and
// DynamoDB calls, for growing n. The run's pace is lifted: on loopback it
// would set the time (800 refreshes a second), and this measures the code.
func BenchmarkRefreshRun(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("authorizers=%d", n), func(b *testing.B) {
			if testing.Short() && n > 1000 {
				b.Skip("seeds 10,000 authorizers")
			}
			benchRefreshRun(b, n, latencies{}, func(ctx context.Context, m *tokens.Manager) (tokens.RefreshSummary, error) {
				tokens.LiftRunRate(m)
				return m.RefreshDue(ctx)
			})
		})
	}
}

// Latencies injected by BenchmarkRefreshRunWithLatency: a WeChat API call
// and a DynamoDB call as a Lambda in the region sees them, not loopback's.
const (
	benchWeChatLatency   = 50 * time.Millisecond
	benchDynamoDBLatency = 5 * time.Millisecond
	// benchRunTimeout is tokenrefresh's Lambda timeout (template.yaml):
	// each run gets it as its deadline, as in AWS.
	benchRunTimeout = 120 * time.Second
)

// BenchmarkRefreshRunWithLatency measures a run over 10,000 due authorizer
// tokens (1,000 with -short) with 50 ms added to each WeChat call and 5 ms
// to each DynamoDB call, under the function's 120 s deadline: the
// algorithm before the lease moved onto the token item (baseline: 8 at a
// time, 4 DynamoDB calls a token) and the current one, in one process.
func BenchmarkRefreshRunWithLatency(b *testing.B) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	lat := latencies{wechat: benchWeChatLatency, dynamo: benchDynamoDBLatency}
	algorithms := []struct {
		name string
		run  func(context.Context, *tokens.Manager) (tokens.RefreshSummary, error)
	}{
		{"baseline", baseline},
		{"current", current},
	}
	for _, a := range algorithms {
		b.Run(fmt.Sprintf("authorizers=%d/%s", n, a.name), func(b *testing.B) { benchRefreshRun(b, n, lat, a.run) })
	}
}

// baseline is the run as it was. Its calls are no function's: the
// template no longer grants what it used (DeleteItem of the lease item),
// and the IAM check is for the code that ships.
func baseline(ctx context.Context, m *tokens.Manager) (tokens.RefreshSummary, error) {
	return tokens.RefreshDueBaseline(logging.WithFunction(ctx, ""), m)
}

// current is the run as the scheduled function makes it.
func current(ctx context.Context, m *tokens.Manager) (tokens.RefreshSummary, error) {
	return m.RefreshDue(ctx)
}

type latencies struct{ wechat, dynamo time.Duration }

// set injects l into env's simulator and embedded DynamoDB server.
func (l latencies) set(b *testing.B, env *testenv.Env) {
	if l.dynamo > 0 {
		env.Embedded(b, "injects DynamoDB latency").SetLatency(l.dynamo)
	} else if env.Dynamo != nil {
		env.Dynamo.SetLatency(0)
	}
	env.Sim.SetLatency(l.wechat)
}

func benchRefreshRun(b *testing.B, n int, lat latencies,
	run func(context.Context, *tokens.Manager) (tokens.RefreshSummary, error),
) {
	env, m := world(b)
	ctx := refreshJob(managerCtx())
	// The process also hosts the embedded DynamoDB server and the
	// simulator, whose garbage (far more than ours) the collector would
	// otherwise clear on the run's time: collect 8 times less often, as
	// BenchmarkFunction collects between requests.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	if _, err := m.RefreshDue(ctx); err != nil { // the component token
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		seedDueAuthorizers(b, env, m, n) // every authorizer's token expires within the window
		lat.set(b, env)
		env.Sim.ResetCalls()
		env.Calls.Reset()
		meter(env, true)
		runCtx, cancel := context.WithTimeout(ctx, benchRunTimeout)
		b.StartTimer()
		start, cpu := time.Now(), cputime.Process()
		sum, err := run(runCtx, m)
		elapsed, cpu := time.Since(start), cputime.Process()-cpu
		b.StopTimer()
		cancel()
		meter(env, false)
		latencies{}.set(b, env)
		if err != nil || sum.Refreshed+sum.Left != n {
			b.Fatalf("summary %+v, err %v", sum, err)
		}
		reportRun(b, env, n, elapsed, sum)
		reportCPU(b, env, cpu)
		env.Clock.Advance(time.Minute) // leases of this run expire
		b.StartTimer()
	}
}

// reportRun reports a run's figures: its time, and per token the WeChat
// and DynamoDB calls (counted at the client: every call once, whatever
// the SDK retried; the index queries shared by the run included).
func reportRun(b *testing.B, env *testenv.Env, n int, elapsed time.Duration, sum tokens.RefreshSummary) {
	calls := env.Calls.Calls()
	total := 0
	for _, c := range calls {
		total += c
	}
	wechatCalls := float64(env.Sim.Calls("api_authorizer_token"))
	b.ReportMetric(elapsed.Seconds(), "s/run")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(n), "µs/token")
	b.ReportMetric(wechatCalls, "wechat-calls/run")
	b.ReportMetric(wechatCalls/float64(n), "wechat-calls/token")
	b.ReportMetric(float64(total)/float64(n), "ddb-calls/token")
	b.ReportMetric(float64(calls["Query"]), "ddb-queries/run")
	b.ReportMetric(float64(sum.Left), "left/run")
}

// meter turns on (or off) the metering of the stand-ins' CPU.
func meter(env *testenv.Env, on bool) {
	if env.Dynamo != nil {
		env.Dynamo.MeterCPU(on)
	}
	env.Sim.MeterCPU(on)
}

// reportCPU splits the process's CPU time during a run (cpu, all of it)
// into the embedded DynamoDB server's, the WeChat simulator's and ours: on
// a machine of few cores, the stand-ins' share sets the run's time too.
func reportCPU(b *testing.B, env *testenv.Env, cpu time.Duration) {
	if !cputime.Supported() {
		return
	}
	storage := time.Duration(0)
	if env.Dynamo != nil {
		storage = env.Dynamo.CPU()
	}
	b.ReportMetric((cpu - storage - env.Sim.CPU()).Seconds(), "cpu-s/run")
	b.ReportMetric(storage.Seconds(), "storage-cpu-s/run")
	b.ReportMetric(env.Sim.CPU().Seconds(), "wechat-sim-cpu-s/run")
}
