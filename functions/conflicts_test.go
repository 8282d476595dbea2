package functions_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wxchannel/functions"
	"wxchannel/shared/app"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
)

// Concurrent requests that change one item, as DynamoDB answers them: the
// transaction that comes second is cancelled with TransactionConflict
// while the first is in flight. The embedded server emulates it, and each
// test holds the first transaction until the second has been cancelled at
// least once, so the overlap is certain rather than left to timing.

type conflictWorld struct {
	*testenv.API
	dyn     *dynamoserver.Server // nil against another DynamoDB
	session string
}

func newConflictWorld(t *testing.T, tune func(*testenv.Env)) *conflictWorld {
	t.Helper()
	api := testenv.SetupWith(t, functions.Mount, tune)
	w := &conflictWorld{API: api, dyn: api.Dynamo}
	admin := api.Staff("acme", "admin-1", staffauth.RoleAdmin)
	scene := api.Must(api.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	w.session = api.Must(api.Login(scene, "openid-twin"), 200).Str("session_token")
	return w
}

// holdRateCounter holds the transactions that change the user's hourly
// order counter, which every work order's transaction does.
func (w *conflictWorld) holdRateCounter() {
	w.dyn.HoldTransactionsOn(10*time.Second, func(a dynamoserver.HeldAction) bool {
		return strings.HasPrefix(a.Key[storage.AttrSK], "rate#")
	})
}

// submit posts a work order in the background.
func (w *conflictWorld) submit(device, key string) <-chan apiclient.Reply {
	out := make(chan apiclient.Reply, 1)
	go func() {
		out <- w.Send(apiclient.Request{Method: "POST", Path: "/portal/work-orders", Token: w.session, Body: faultOrder(device),
			Headers: map[string]string{"Idempotency-Key": key}})
	}()
	return out
}

// overlap sends first, waits until its transaction is held, sends
// second, waits until DynamoDB has cancelled second's transaction at least
// once, and lets first go.
func (w *conflictWorld) overlap(first, second func() <-chan apiclient.Reply) (a, b apiclient.Reply) {
	w.T.Helper()
	w.Embedded(w.T, "it holds one transaction so that another overlaps it")
	w.holdRateCounter()
	ra := first()
	w.waitFor("the first transaction held", func() bool { return w.dyn.HeldTransactions() == 1 })
	before := w.dyn.Conflicts()
	rb := second()
	w.waitFor("the second transaction cancelled", func() bool { return w.dyn.Conflicts() > before })
	w.dyn.SetTransactionHold(0)
	return <-ra, <-rb
}

func (w *conflictWorld) waitFor(what string, cond func() bool) {
	w.T.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (w *conflictWorld) orderCount() int {
	list, _ := w.Must(w.Do("GET", "/portal/work-orders", w.session, nil), 200).Body["work_orders"].([]any)
	return len(list)
}

// Two different orders of one user at once: both change the hourly
// counter, the second is cancelled while the first is in flight, and the
// client's retry gets it through. Both are created.
func TestConcurrentOrdersOfOneUserAreBothCreated(t *testing.T) {
	w := newConflictWorld(t, nil)
	a, b := w.overlap(func() <-chan apiclient.Reply { return w.submit("AC-TWIN-1", "twin-key-0001") },
		func() <-chan apiclient.Reply { return w.submit("AC-TWIN-2", "twin-key-0002") })
	if a.Status != 201 || b.Status != 201 {
		t.Fatalf("concurrent orders: %d %s / %d %s", a.Status, a.Raw, b.Status, b.Raw)
	}
	if c := w.Calls.Conflicts(); c.Cancelled == 0 || c.Resolved == 0 || c.Unresolved != 0 {
		t.Fatalf("conflicts %+v: want cancelled attempts, each resolved by a retry", c)
	}
	if n := w.orderCount(); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}

// The same order sent twice at once with one Idempotency-Key (a double
// tap): one order is created and the other request is answered with it.
func TestConcurrentTwinsWithOneIdempotencyKeyCreateOneOrder(t *testing.T) {
	w := newConflictWorld(t, nil)
	a, b := w.overlap(func() <-chan apiclient.Reply { return w.submit("AC-TWIN-3", "twin-key-0003") },
		func() <-chan apiclient.Reply { return w.submit("AC-TWIN-3", "twin-key-0003") })
	if a.Status != 201 || b.Status != 200 || b.Body["replayed"] != true {
		t.Fatalf("twins: %d %s / %d %s", a.Status, a.Raw, b.Status, b.Raw)
	}
	if a.Str("work_order", "id") != b.Str("work_order", "id") {
		t.Fatalf("the replay names order %s, the creation %s", b.Str("work_order", "id"), a.Str("work_order", "id"))
	}
	if n := w.orderCount(); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
}

// Without the client's retries (one attempt), the same overlap shows what
// the retries fix: the conflict is a retryable 409 transaction_conflict,
// never a 500, nothing of the cancelled order is written, and the
// client's retry of it succeeds.
func TestAConflictThatOutlastsTheRetriesIsARetryable409(t *testing.T) {
	w := newConflictWorld(t, func(env *testenv.Env) {
		d := env.Deps
		client := dynamodb.New(env.DB.Client.Options(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		db := storage.NewDB(client, d.Config.PlatformTable, d.Config.ServiceTable)
		env.Deps = app.New(d.Config, d.Log, db, d.Secrets, d.Now, &http.Client{Timeout: 5 * time.Second})
	})
	a, b := w.overlap(func() <-chan apiclient.Reply { return w.submit("AC-ONCE-1", "once-key-0001") },
		func() <-chan apiclient.Reply { return w.submit("AC-ONCE-2", "once-key-0002") })
	if a.Status != 201 {
		t.Fatalf("first order: %d %s", a.Status, a.Raw)
	}
	w.MustError(b, 409, "transaction_conflict")
	if n := w.orderCount(); n != 1 {
		t.Fatalf("%d orders after a cancelled one, want 1", n)
	}
	w.Must(<-w.submit("AC-ONCE-2", "once-key-0002"), 201)
	if n := w.orderCount(); n != 2 {
		t.Fatalf("%d orders after the retry, want 2", n)
	}
}

// Many orders of one user at once, without holding anything: whatever
// overlaps DynamoDB cancels and the retries resolve; every order is
// created once.
func TestABurstOfOrdersOfOneUserIsCreatedInFull(t *testing.T) {
	w := newConflictWorld(t, nil)
	const n = 6
	replies := make([]<-chan apiclient.Reply, n)
	for i := range replies {
		replies[i] = w.submit(fmt.Sprintf("AC-BURST-%d", i), fmt.Sprintf("burst-key-%04d", i))
	}
	for i, r := range replies {
		if got := <-r; got.Status != 201 {
			t.Errorf("order %d: %d %s", i, got.Status, got.Raw)
		}
	}
	if got := w.orderCount(); got != n {
		t.Fatalf("%d orders, want %d", got, n)
	}
	t.Logf("conflicts: %+v", w.Calls.Conflicts())
}
