package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wxchannel/shared/apperr"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/storage"
)

// heldTransaction starts a transaction on item a/b and holds it in flight
// until the returned release is called.
func heldTransaction(t *testing.T, env *testenv.Env, dyn *dynamoserver.Server) (release func() error) {
	t.Helper()
	dyn.HoldTransactionsOn(10*time.Second, func(a dynamoserver.HeldAction) bool { return a.Key[storage.AttrPK] == "a" })
	done := make(chan error, 1)
	go func() {
		tx := env.DB.Dynamo.WriteTx()
		tx.Put(env.DB.Platform.Put(counted{"a", "b"}))
		done <- tx.Run(context.Background())
	}()
	waitUntil(t, func() bool { return dyn.HeldTransactions() == 1 })
	return func() error { dyn.SetTransactionHold(0); return <-done }
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// A single-item write racing a transaction on the same item gets
// TransactionConflictException; the client retries it and it lands once
// the transaction is done.
func TestAWriteRacingATransactionIsRetriedUntilItLands(t *testing.T) {
	env := testenv.New(t)
	dyn := env.Embedded(t, "it holds a transaction in flight")
	release := heldTransaction(t, env, dyn)
	wrote := make(chan error, 1)
	go func() {
		wrote <- env.DB.Platform.Update("pk", "a").Range("sk", "b").Set("n", 1).Run(context.Background())
	}()
	waitUntil(t, func() bool { return dyn.Conflicts() > 0 })
	if err := release(); err != nil {
		t.Fatalf("the held transaction: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the write that raced it: %v", err)
	}
	if c := env.Calls.Conflicts(); c.Cancelled == 0 || c.Resolved != 1 || c.Unresolved != 0 {
		t.Fatalf("conflicts %+v", c)
	}
}

// With a single attempt the same race is answered as a retryable
// conflict, never an internal error.
func TestAConflictThatOutlastsTheAttemptsIsARetryableConflict(t *testing.T) {
	env := testenv.New(t)
	dyn := env.Embedded(t, "it holds a transaction in flight")
	once := storage.NewDB(dynamodb.New(env.DB.Client.Options(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }),
		env.Deps.Config.PlatformTable, env.Deps.Config.ServiceTable)
	release := heldTransaction(t, env, dyn)
	err := once.Platform.Put(counted{"a", "b"}).Run(context.Background())
	tx := once.Dynamo.WriteTx()
	tx.Put(once.Platform.Put(counted{"a", "b"}))
	txErr := tx.Run(context.Background())
	if rerr := release(); rerr != nil {
		t.Fatal(rerr)
	}
	for name, err := range map[string]error{"single write": err, "transaction": txErr} {
		var e *apperr.Error
		if !errors.As(err, &e) || e.Kind != apperr.Conflict || e.Code != "transaction_conflict" {
			t.Errorf("%s racing a transaction: %v, want a transaction_conflict conflict", name, err)
		}
	}
}
