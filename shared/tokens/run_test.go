package tokens_test

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wechat"
)

func num(v types.AttributeValue) int64 {
	if n, ok := v.(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(n.Value, 10, 64)
		return i
	}
	return 0
}

func TestARefreshedTokenCostsTwoDynamoDBCallsAndOneWeChatCall(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	const n = 3
	authorize(t, env, m, n)
	env.Clock.Advance(2*time.Hour - 10*time.Minute) // the authorizers' tokens and the component's are due
	env.Calls.Reset()
	env.Sim.ResetCalls()
	sum, err := m.RefreshDue(refreshJob(ctx))
	if err != nil || sum.Refreshed != n {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	// Each token: its lease take (which returns the item, read
	// consistently) and its write (which releases the lease). The
	// component token also reads the ticket; the run reads one page of the
	// due index.
	want := map[string]int{"UpdateItem": 1 + n, "PutItem": 1 + n, "GetItem": 1, "Query": 1}
	if got := env.Calls.Calls(); !maps.Equal(got, want) {
		t.Fatalf("DynamoDB calls %v, want %v", got, want)
	}
	if c := env.Sim.Calls("api_authorizer_token"); c != n {
		t.Fatalf("%d WeChat calls for %d tokens", c, n)
	}
}

func TestARunNearItsDeadlineStopsCleanlyAndTheNextRunFinishes(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	const n = 200
	appids := seedDueAuthorizers(t, env, m, n)
	seeded := rawTokenItems(t, env)
	// Each WeChat call takes 50 ms, 4 refreshes run at a time, and one may
	// take 3 s (ample on a machine busy with the race detector), the store
	// of its token (or the lease's release) 1 s more: the run starts none
	// in the last 5 s before its deadline, which leaves it 0.3 s of starts.
	env.Sim.SetLatency(50 * time.Millisecond)
	tokens.SetRunLimits(m, 4, 3*time.Second, time.Second)
	env.Sim.ResetCalls()
	runCtx, cancel := context.WithTimeout(refreshJob(ctx), 5300*time.Millisecond)
	defer cancel()
	sum, err := m.RefreshDue(runCtx)
	if err != nil {
		t.Fatal(err)
	}
	if runCtx.Err() != nil {
		t.Fatal("the run returned after its deadline")
	}
	if sum.Left == 0 || sum.Failed != 0 || sum.Skipped != 0 || sum.Refreshed+sum.Left != n {
		t.Fatalf("summary %+v: want every due token refreshed or left", sum)
	}
	t.Logf("first run: %+v", sum)
	// Nothing half-done: each token is the seeded one or a refreshed one
	// (WeChat asked once for it), and no lease is left behind.
	refreshed, items := 0, rawTokenItems(t, env)
	for _, appid := range appids {
		pk := storage.AuthorizerPartition(appid)
		it, before := items[pk], seeded[pk]
		if _, held := it["lease_owner"]; held {
			t.Errorf("%s: a lease is left behind", appid)
		}
		switch {
		case num(it["version"]) == num(before["version"]) && num(it["expires_at"]) == num(before["expires_at"]):
		case num(it["expires_at"]) == env.Clock.Now().Add(2*time.Hour).Unix():
			refreshed++
		default:
			t.Errorf("%s: half-written item %v", appid, it)
		}
	}
	if refreshed != sum.Refreshed || env.Sim.Calls("api_authorizer_token") != sum.Refreshed {
		t.Fatalf("%d tokens refreshed with %d WeChat calls; the summary says %d", refreshed, env.Sim.Calls("api_authorizer_token"), sum.Refreshed)
	}
	// The next run, with the production limits (a refresh cut at 1 s would
	// fail on a machine busy with the race detector), refreshes what was
	// left, and nothing twice.
	env.Sim.SetLatency(0)
	tokens.DefaultRunLimits(m)
	next, err := m.RefreshDue(refreshJob(ctx))
	if err != nil || next.Refreshed != sum.Left || next.Left != 0 {
		t.Fatalf("next run %+v, %v; want the %d left refreshed", next, err, sum.Left)
	}
	if c := env.Sim.Calls("api_authorizer_token"); c != n {
		t.Fatalf("%d WeChat calls for %d tokens", c, n)
	}
	mustWork(t, env, m, appids)
}

func TestSpentQuotaHaltsTheRunAndLeavesTheRestForTheNextOne(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	const n = 5
	appids := seedDueAuthorizers(t, env, m, n)
	tokens.SetRunLimits(m, 1, 20*time.Second, 3*time.Second)
	env.Sim.InjectError("api_authorizer_token", wechat.CodeQuotaDaily, 1)
	sum, err := m.RefreshDue(refreshJob(ctx))
	if !wechat.IsCode(err, wechat.CodeQuotaDaily) || !sum.Halted || sum.Failed != 1 || sum.Left != n-1 {
		t.Fatalf("summary %+v, %v; want halted on 45009 with the rest left", sum, err)
	}
	// The failed refresh released its lease: the next run (tomorrow's
	// quota) refreshes every token.
	if sum, err := m.RefreshDue(refreshJob(ctx)); err != nil || sum.Refreshed != n {
		t.Fatalf("next run %+v, %v", sum, err)
	}
	mustWork(t, env, m, appids)
}

func TestALeaseACrashedRefresherHeldExpiresAndIsTakenOver(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 2)
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	// Another instance takes the first token's lease, then dies before
	// WeChat answers: the lease is never released.
	lateStore, err := tokens.HoldLease(refreshJob(ctx), tokens.FromDeps(env.Deps), appids[0])
	if err != nil || lateStore == nil {
		t.Fatalf("lease not taken: %v", err)
	}
	env.Sim.ResetCalls()
	sum, err := m.RefreshDue(refreshJob(ctx))
	if err != nil || sum.Refreshed != 1 || sum.Skipped != 1 || env.Sim.Calls("api_authorizer_token") != 1 {
		t.Fatalf("while the lease is held: %+v, %v, %d WeChat calls; want the other token refreshed and this one skipped",
			sum, err, env.Sim.Calls("api_authorizer_token"))
	}
	// The next run, 5 minutes later, finds the lease expired and takes it.
	env.Clock.Advance(5 * time.Minute)
	if sum, err := m.RefreshDue(refreshJob(ctx)); err != nil || sum.Refreshed != 1 {
		t.Fatalf("after the lease expired: %+v, %v", sum, err)
	}
	mustWork(t, env, m, appids)
	// Were the dead holder to come back, its older token could not
	// overwrite the newer one.
	if err := lateStore(refreshJob(ctx)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a late write under an expired lease: %v, want a conflict", err)
	}
	mustWork(t, env, tokens.FromDeps(env.Deps), appids)
}
