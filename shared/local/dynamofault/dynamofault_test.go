package dynamofault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/storage"
)

type row struct {
	PK     string `dynamo:"pk,hash"`
	SK     string `dynamo:"sk,range"`
	GSI1PK string `dynamo:"gsi1pk,omitempty"`
	GSI1SK string `dynamo:"gsi1sk,omitempty"`
	N      int    `dynamo:"n"`
}

// A failing table is DynamoDB's 500 to the SDK: retried, then answered as
// storage_unavailable; the other table still works and nothing was
// written.
func TestFailTableIsRetriedThenUnavailable(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	env.Faults.FailTable(env.Deps.Config.ServiceTable, true)
	err := env.DB.Service.Put(row{PK: "a", SK: "b"}).Run(ctx)
	if apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("put on a failing table: %v, want unavailable", err)
	}
	if calls, attempts := env.Calls.Calls()["PutItem"], env.Faults.Attempts()["PutItem"]; calls != 1 || attempts < 2 {
		t.Fatalf("%d calls, %d attempts; want 1 call and its retries", calls, attempts)
	}
	if err := env.DB.Platform.Put(row{PK: "a", SK: "b"}).Run(ctx); err != nil {
		t.Fatalf("the other table: %v", err)
	}
	env.Faults.FailTable(env.Deps.Config.ServiceTable, false)
	var got row
	if err := env.DB.Service.Get("pk", "a").Range("sk", dynamo.Equal, "b").One(ctx, &got); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("the refused put was written: %v %+v", err, got)
	}
}

// A failing index fails its queries only.
func TestFailIndexFailsItsQueriesOnly(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.DB.Service.Put(row{PK: "a", SK: "b", GSI1PK: "g", GSI1SK: "1"}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	env.Faults.FailIndex(env.Deps.Config.ServiceTable, storage.IndexGSI1, true)
	var rows []row
	if err := env.DB.Service.Get("gsi1pk", "g").Index(storage.IndexGSI1).All(ctx, &rows); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("query on a failing index: %v", err)
	}
	if err := env.DB.Service.Get("pk", "a").All(ctx, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("base table query: %v %v", err, rows)
	}
	env.Faults.FailIndex(env.Deps.Config.ServiceTable, storage.IndexGSI1, false)
	rows = nil
	if err := env.DB.Service.Get("gsi1pk", "g").Index(storage.IndexGSI1).All(ctx, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("index query after recovery: %v %v", err, rows)
	}
}

// Sub-requests left unprocessed come back in the answer: guregu/dynamo
// sends them again until every write and read is done.
func TestUnprocessedBatchItemsAreSentAgain(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	table := env.Deps.Config.ServiceTable
	env.Faults.LeaveUnprocessed(table, func(n int, _ map[string]any) bool { return n%2 == 1 && n < 8 })
	items := make([]any, 6)
	keys := make([]dynamo.Keyed, 6)
	for i := range items {
		items[i] = row{PK: "batch", SK: fmt.Sprint(i), N: i}
		keys[i] = dynamo.Keys{"batch", fmt.Sprint(i)}
	}
	if _, err := env.DB.Service.Batch("pk", "sk").Write().Put(items...).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := env.Faults.Attempts()["BatchWriteItem"]; n < 2 {
		t.Fatalf("%d BatchWriteItem attempts, want the unprocessed ones sent again", n)
	}
	env.Faults.LeaveUnprocessed(table, func(n int, _ map[string]any) bool { return n <= 3 })
	var got []row
	if err := env.DB.Service.Batch("pk", "sk").Get(keys...).All(ctx, &got); err != nil || len(got) != 6 {
		t.Fatalf("batch get with keys left unprocessed: %v, %d rows", err, len(got))
	}
	if n := env.Calls.Calls()["BatchGetItem"]; n < 2 {
		t.Fatalf("%d BatchGetItem calls, want the unprocessed keys asked again", n)
	}

	// Never processed: the caller's deadline ends it, nothing is read.
	env.Faults.LeaveUnprocessed(table, func(int, map[string]any) bool { return true })
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := env.DB.Service.Batch("pk", "sk").Get(keys...).All(short, &got); err == nil {
		t.Fatal("a batch whose keys are never processed succeeded")
	}
	env.Faults.LeaveUnprocessed(table, nil)
}
