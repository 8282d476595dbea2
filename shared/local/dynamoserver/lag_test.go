package dynamoserver_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// partition returns the items gsi1 lists under hash key gsi1pk, in order.
func partition(t *testing.T, table dynamo.Table, gsi1pk string) []item {
	t.Helper()
	var got []item
	if err := table.Get("gsi1pk", gsi1pk).Index(gsi1).All(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestALaggingIndexShowsTheTableAsItStoodTheLagAgo(t *testing.T) {
	srv, _, table := setup(t)
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv.SetClock(clock.Now)
	srv.SetIndexLag(time.Second)
	writes := []*dynamo.Update{
		table.Update("pk", "h").Range("sk", "c").Set("gsi1sk", "50").Set("n", 99),          // moves within "even"
		table.Update("pk", "h").Range("sk", "e").Set("gsi1pk", "odd"),                      // moves to "odd"
		table.Update("pk", "h").Range("sk", "b").Set("gsi1pk", "even").Set("gsi1sk", "03"), // joins "even"
	}
	for _, u := range writes {
		if err := u.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := table.Put(item{PK: "h", SK: "k", GSI1PK: "even", GSI1SK: "10"}).Run(ctx); err != nil { // a new item
		t.Fatal(err)
	}
	if err := table.Delete("pk", "h").Range("sk", "g").Run(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(999 * time.Millisecond)
	stale := partition(t, table, "even")
	if got, want := sks(stale), []string{"a", "c", "e", "g", "i", "a"}; !slices.Equal(got, want) {
		t.Fatalf("within the lag the index lists %v, want %v", got, want)
	}
	if stale[1].N != 2 || stale[1].GSI1SK != "02" {
		t.Fatalf("within the lag h/c shows %+v, want its previous image", stale[1])
	}
	if got := sks(partition(t, table, "odd")); len(got) != 0 {
		t.Fatalf("within the lag \"odd\" lists %v", got)
	}
	var base []item
	if err := table.Get("pk", "h").Consistent(true).All(ctx, &base); err != nil || len(base) != 10 || base[9].SK != "k" {
		t.Fatalf("the table itself is current: %v, %v", sks(base), err)
	}
	clock.Advance(time.Millisecond)
	if got, want := sks(partition(t, table, "even")), []string{"a", "b", "i", "k", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("after the lag the index lists %v, want %v", got, want)
	}
	if got := sks(partition(t, table, "odd")); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("after the lag \"odd\" lists %v", got)
	}
}

func TestIndexLagIsOffByDefaultAndCanBeTurnedOff(t *testing.T) {
	srv, _, table := setup(t)
	ctx := context.Background()
	if err := table.Update("pk", "h").Range("sk", "b").Set("gsi1pk", "even").Set("gsi1sk", "01").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sks(partition(t, table, "even")); !slices.Contains(got, "b") {
		t.Fatalf("without lag the index lists %v", got)
	}
	srv.SetIndexLag(time.Hour)
	if err := table.Delete("pk", "h").Range("sk", "b").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sks(partition(t, table, "even")); !slices.Contains(got, "b") {
		t.Fatalf("with an hour's lag the deleted item is gone already: %v", got)
	}
	srv.SetIndexLag(0)
	if got := sks(partition(t, table, "even")); slices.Contains(got, "b") {
		t.Fatalf("with the lag off the deleted item is still listed: %v", got)
	}
}
