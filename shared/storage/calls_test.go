package storage_test

import (
	"context"
	"testing"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/local/testenv"
)

type counted struct {
	PK string `dynamo:"pk,hash"`
	SK string `dynamo:"sk,range"`
}

// TestCallCounterCountsCallsNotAttempts: each call counts once by its
// operation name, a refused conditional write included; the SDK's retries
// of a failing call reach the server but count once at the client.
func TestCallCounterCountsCallsNotAttempts(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	table := env.DB.Platform
	env.Calls.Reset()
	if err := table.Put(counted{"a", "b"}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := table.Put(counted{"a", "b"}).If("attribute_not_exists('pk')").Run(ctx); err == nil {
		t.Fatal("a conditional put over an existing item succeeded")
	}
	var got counted
	if err := table.Get("pk", "a").Range("sk", dynamo.Equal, "b").One(ctx, &got); err != nil || got.PK != "a" {
		t.Fatalf("get: %v %+v", err, got)
	}
	calls := env.Calls.Calls()
	if calls["PutItem"] != 2 || calls["GetItem"] != 1 || len(calls) != 2 {
		t.Fatalf("counted %v, want 2 PutItem and 1 GetItem", calls)
	}

	env.Calls.Reset()
	env.Faults.Reset()
	env.Faults.FailTable(env.Deps.Config.PlatformTable, true)
	if err := table.Get("pk", "a").Range("sk", dynamo.Equal, "b").One(ctx, &got); err == nil {
		t.Fatal("a get from a failing table succeeded")
	}
	env.Faults.FailTable(env.Deps.Config.PlatformTable, false)
	if calls, attempts := env.Calls.Calls()["GetItem"], env.Faults.Attempts()["GetItem"]; calls != 1 || attempts < 2 {
		t.Fatalf("a retried get: %d calls, %d attempts sent; want 1 call and its retries", calls, attempts)
	}
}
