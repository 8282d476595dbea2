package streamfeed_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/streamfeed"
	"wxchannel/shared/storage"
)

// table is the service table's definition under a test name.
const table = "service"

// setup starts a server holding the service table, with its stream on.
func setup(t *testing.T) (*dynamoserver.Server, *dynamodb.Client) {
	t.Helper()
	srv, err := dynamoserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client := srv.NewClient(func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	i := slices.IndexFunc(storage.Tables, func(s storage.TableSpec) bool { return s.Logical == "ServiceTable" })
	if _, err := client.CreateTable(context.Background(), storage.Tables[i].CreateInput(table)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.EnableStream(table); err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// write puts item pk/sk with attribute v.
func write(t *testing.T, c *dynamodb.Client, pk, sk, v string) {
	t.Helper()
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}, "v": &types.AttributeValueMemberS{Value: v},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// writeEvents writes n outbox events, event#1 to event#n, with an item that is
// not one after each.
func writeEvents(t *testing.T, c *dynamodb.Client, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		write(t, c, "tenant#t1", fmt.Sprintf("event#%d", i), "new")
		write(t, c, "tenant#t1", fmt.Sprintf("order#%d", i), "new")
	}
}

// recorder is a handler that keeps the sort keys of each batch it gets and
// answers what respond says (nothing: success).
type recorder struct {
	mu      sync.Mutex
	batches [][]string
	respond func(ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func (r *recorder) handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var sks []string
	for _, rec := range ev.Records {
		sks = append(sks, rec.Change.Keys["sk"].String())
	}
	r.mu.Lock()
	r.batches = append(r.batches, sks)
	respond := r.respond
	r.mu.Unlock()
	if respond == nil {
		return events.DynamoDBEventResponse{}, nil
	}
	return respond(ev)
}

func (r *recorder) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.batches) == 0 {
		return nil
	}
	return r.batches[len(r.batches)-1]
}

func outboxFeeder(srv *dynamoserver.Server, h streamfeed.Handler, batchSize int) *streamfeed.Feeder {
	filter, _ := streamfeed.InsertedWithKeyPrefix("sk", "event#")
	return streamfeed.New(srv, table, h, streamfeed.Options{Filter: filter, BatchSize: batchSize})
}

// feed runs one FeedOnce and checks what it delivered.
func feed(t *testing.T, f *streamfeed.Feeder, r *recorder, want ...string) error {
	t.Helper()
	n, err := f.FeedOnce(context.Background())
	if n != len(want) || (n > 0 && !slices.Equal(r.last(), want)) {
		t.Fatalf("delivered %d records %v, want %v", n, r.last(), want)
	}
	return err
}

func TestTheFeederDeliversInBatchesOnlyTheRecordsItsFilterPicks(t *testing.T) {
	srv, c := setup(t)
	writeEvents(t, c, 5)
	write(t, c, "tenant#t1", "event#1", "changed") // MODIFY: not picked
	r := &recorder{}
	f := outboxFeeder(srv, r.handle, 2)
	for _, want := range [][]string{{"event#1", "event#2"}, {"event#3", "event#4"}, {"event#5"}, nil} {
		if err := feed(t, f, r, want...); err != nil {
			t.Fatal(err)
		}
	}
	all := srv.StreamRecords(table, "", 0)
	if got, want := f.Checkpoint(), all[len(all)-1].Change.SequenceNumber; got != want {
		t.Fatalf("checkpoint %s, want the last record's %s (filtered records are skipped for good)", got, want)
	}
	write(t, c, "tenant#t2", "event#6", "new")
	if err := feed(t, f, r, "event#6"); err != nil {
		t.Fatal(err)
	}
}

func TestAFailedInvocationDeliversTheSameBatchAgain(t *testing.T) {
	srv, c := setup(t)
	writeEvents(t, c, 3)
	failure := errors.New("downstream unavailable")
	r := &recorder{respond: func(events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{}, failure
	}}
	f := outboxFeeder(srv, r.handle, 2)
	if err := feed(t, f, r, "event#1", "event#2"); !errors.Is(err, failure) {
		t.Fatalf("FeedOnce error %v, want the handler's", err)
	}
	if f.Checkpoint() != "" {
		t.Fatalf("a failed batch moved the checkpoint to %s", f.Checkpoint())
	}
	r.respond = func(events.DynamoDBEvent) (events.DynamoDBEventResponse, error) { panic("bug") }
	if err := feed(t, f, r, "event#1", "event#2"); err == nil {
		t.Fatal("a panicking handler succeeded")
	}
	r.respond = nil
	for _, want := range [][]string{{"event#1", "event#2"}, {"event#3"}} {
		if err := feed(t, f, r, want...); err != nil {
			t.Fatal(err)
		}
	}
}

// failing answers batchItemFailures naming the records whose sort keys
// are given.
func failing(sks ...string) func(events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
		for _, rec := range ev.Records {
			if slices.Contains(sks, rec.Change.Keys["sk"].String()) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			}
		}
		slices.Reverse(resp.BatchItemFailures) // the lowest counts, wherever it is listed
		return resp, nil
	}
}

func TestBatchItemFailuresCheckpointJustBeforeTheLowestFailedRecord(t *testing.T) {
	srv, c := setup(t)
	writeEvents(t, c, 5)
	r := &recorder{respond: failing("event#2", "event#4")}
	f := outboxFeeder(srv, r.handle, 10)
	if err := feed(t, f, r, "event#1", "event#2", "event#3", "event#4", "event#5"); !errors.Is(err, streamfeed.ErrBatchItemFailures) {
		t.Fatalf("FeedOnce error %v, want ErrBatchItemFailures", err)
	}
	r.respond = func(events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "not-in-the-batch"}}}, nil
	}
	if err := feed(t, f, r, "event#2", "event#3", "event#4", "event#5"); !errors.Is(err, streamfeed.ErrBatchItemFailures) {
		t.Fatalf("FeedOnce error %v, want ErrBatchItemFailures", err)
	}
	r.respond = failing() // an empty list: every record succeeded
	if err := feed(t, f, r, "event#2", "event#3", "event#4", "event#5"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Drain(context.Background()); n != 0 || err != nil {
		t.Fatalf("after success Drain delivered %d records (%v)", n, err)
	}
}

func TestRunFeedsRecordsAsTheyAreWrittenAndRetriesFailures(t *testing.T) {
	srv, c := setup(t)
	delivered := make(chan []string, 10)
	failures := 1
	r := &recorder{}
	r.respond = func(ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var sks []string
		for _, rec := range ev.Records {
			sks = append(sks, rec.Change.Keys["sk"].String())
		}
		delivered <- sks
		if failures > 0 { // only Run's goroutine invokes the handler
			failures--
			return events.DynamoDBEventResponse{}, errors.New("first attempt fails")
		}
		return events.DynamoDBEventResponse{}, nil
	}
	f := outboxFeeder(srv, r.handle, 10)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- f.Run(ctx) }()
	writeEvents(t, c, 1)
	for _, want := range [][]string{{"event#1"}, {"event#1"}} { // failed, then retried
		if got := <-delivered; !slices.Equal(got, want) {
			t.Fatalf("delivered %v, want %v", got, want)
		}
	}
	write(t, c, "tenant#t1", "event#2", "new")
	if got := <-delivered; !slices.Equal(got, []string{"event#2"}) {
		t.Fatalf("delivered %v, want [event#2]", got)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestAFeederNeedsAStream(t *testing.T) {
	srv, _ := setup(t)
	f := streamfeed.New(srv, "others", (&recorder{}).handle, streamfeed.Options{})
	if _, err := f.FeedOnce(context.Background()); !errors.Is(err, dynamoserver.ErrNoStream) {
		t.Fatalf("FeedOnce without a stream: %v", err)
	}
	if err := f.Run(context.Background()); !errors.Is(err, dynamoserver.ErrNoStream) {
		t.Fatalf("Run without a stream: %v", err)
	}
}

func TestInsertedWithKeyPrefixPicksWhatItsPatternPicks(t *testing.T) {
	filter, pattern := streamfeed.InsertedWithKeyPrefix("sk", "event#")
	if want := `{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"event#"}]}}}}`; pattern != want {
		t.Fatalf("pattern %s, want %s", pattern, want)
	}
	record := func(name string, sk events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
			Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("p"), "sk": sk},
		}}
	}
	cases := []struct {
		record events.DynamoDBEventRecord
		want   bool
	}{
		{record("INSERT", events.NewStringAttribute("event#1")), true},
		{record("INSERT", events.NewStringAttribute("event#")), true},
		{record("MODIFY", events.NewStringAttribute("event#1")), false},
		{record("REMOVE", events.NewStringAttribute("event#1")), false},
		{record("INSERT", events.NewStringAttribute("order#1")), false},
		{record("INSERT", events.NewStringAttribute("xevent#1")), false},
		{record("INSERT", events.NewNumberAttribute("1")), false},
		{events.DynamoDBEventRecord{EventName: "INSERT"}, false},
	}
	for _, tc := range cases {
		if got := filter(tc.record); got != tc.want {
			t.Errorf("filter(%s %v) = %v, want %v", tc.record.EventName, tc.record.Change.Keys["sk"], got, tc.want)
		}
	}
}

func ExampleInsertedWithKeyPrefix() {
	_, pattern := streamfeed.InsertedWithKeyPrefix("sk", "event#")
	fmt.Println(pattern)
	// Output: {"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"event#"}]}}}}
}
