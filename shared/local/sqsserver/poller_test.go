package sqsserver_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wxchannel/shared/local/sqsserver"
)

// recorder is a handler that records its events and fails the messages
// whose bodies it is told to, reporting them as batch item failures.
type recorder struct {
	mu     sync.Mutex
	events []events.SQSEvent
	fail   map[string]bool
	err    error
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if r.fail[rec.Body] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, r.err
}

func (r *recorder) last() events.SQSEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

func newPoller(t *testing.T, env *testEnv, url string, handler sqsserver.Handler) *sqsserver.Poller {
	t.Helper()
	p, err := sqsserver.NewPoller(t.Context(), env.client, url, handler)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pollOnce(t *testing.T, p *sqsserver.Poller) (int, error) {
	t.Helper()
	return p.PollOnce(t.Context())
}

func TestThePollerDeletesProcessedMessagesAndKeepsReportedFailures(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30"})
	for _, b := range []string{"a", "b", "c"} {
		env.send(t, url, b)
	}
	rec := &recorder{fail: map[string]bool{"b": true}}
	p := newPoller(t, env, url, rec.handle)
	if n, err := pollOnce(t, p); n != 3 || err != nil {
		t.Fatalf("PollOnce: %d, %v", n, err)
	}
	if c := env.counts(t, url); c != [3]string{"0", "1", "0"} {
		t.Fatalf("after the batch %v", c)
	}
	env.clock.Advance(30 * time.Second)
	rec.fail = nil
	if n, err := pollOnce(t, p); n != 1 || err != nil {
		t.Fatalf("second PollOnce: %d, %v", n, err)
	}
	retry := rec.last().Records[0]
	if retry.Body != "b" || retry.Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("retried %q with attributes %v", retry.Body, retry.Attributes)
	}
	if c := env.counts(t, url); c != [3]string{"0", "0", "0"} {
		t.Fatalf("at the end %v", c)
	}
	if n, err := pollOnce(t, p); n != 0 || err != nil {
		t.Fatalf("PollOnce of an empty queue: %d, %v", n, err)
	}
}

func TestAFailedInvocationLeavesTheWholeBatchToReappear(t *testing.T) {
	failures := []struct {
		name    string
		handler func(rec *recorder) sqsserver.Handler
		is      func(error) bool
	}{
		{"the handler returns an error", func(rec *recorder) sqsserver.Handler {
			rec.err = errors.New("database down")
			return rec.handle
		}, func(err error) bool { return err != nil && err.Error() == "handler: database down" }},
		{"the handler panics", func(*recorder) sqsserver.Handler {
			return func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) { panic("nil map") }
		}, func(err error) bool { return err != nil && err.Error() == "handler: panic: nil map" }},
		{"a batch item failure names no message of the batch", func(*recorder) sqsserver.Handler {
			return func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ""}}}, nil
			}
		}, func(err error) bool { return errors.Is(err, sqsserver.ErrInvalidItemIdentifier) }},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			env := setup(t)
			url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30"})
			env.send(t, url, "a")
			env.send(t, url, "b")
			p := newPoller(t, env, url, tt.handler(&recorder{}))
			if n, err := pollOnce(t, p); n != 2 || !tt.is(err) {
				t.Fatalf("PollOnce: %d, %v", n, err)
			}
			env.clock.Advance(30 * time.Second)
			if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("after the visibility timeout: %v", got)
			}
		})
	}
}

func TestThePollerHandsTheHandlerTheEventLambdaSends(t *testing.T) {
	env := setup(t)
	url, _ := env.createFIFOPair(t, 3)
	sent := env.send(t, url, `{"event":"created"}`, inGroup("wo-1", "wo-1-created"), func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{"tenant": {DataType: aws.String("String"), StringValue: aws.String("t-1")}}
	})
	rec := &recorder{}
	p := newPoller(t, env, url, rec.handle)
	p.BatchSize = 5
	if n, err := pollOnce(t, p); n != 1 || err != nil {
		t.Fatalf("PollOnce: %d, %v", n, err)
	}
	r := rec.last().Records[0]
	if r.MessageId != aws.ToString(sent.MessageId) || r.Body != `{"event":"created"}` || r.ReceiptHandle == "" ||
		r.Md5OfBody != aws.ToString(sent.MD5OfMessageBody) || r.Md5OfMessageAttributes != aws.ToString(sent.MD5OfMessageAttributes) {
		t.Fatalf("record %+v", r)
	}
	if r.EventSource != "aws:sqs" || r.EventSourceARN != "arn:aws-cn:sqs:cn-north-1:000000000000:events.fifo" || r.AWSRegion != "cn-north-1" {
		t.Fatalf("record source %s %s %s", r.EventSource, r.EventSourceARN, r.AWSRegion)
	}
	wantAttributes := []string{"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "MessageDeduplicationId", "MessageGroupId",
		"SenderId", "SentTimestamp", "SequenceNumber"}
	if got := slices.Sorted(maps.Keys(r.Attributes)); !slices.Equal(got, wantAttributes) {
		t.Fatalf("attributes %v", got)
	}
	if r.Attributes["MessageGroupId"] != "wo-1" || r.Attributes["SequenceNumber"] != aws.ToString(sent.SequenceNumber) {
		t.Fatalf("attributes %v", r.Attributes)
	}
	tenant := r.MessageAttributes["tenant"]
	if tenant.DataType != "String" || aws.ToString(tenant.StringValue) != "t-1" || tenant.StringListValues == nil || tenant.BinaryListValues == nil {
		t.Fatalf("message attribute %+v", tenant)
	}
}

func TestAPoisonMessageEndsInTheDeadLetterQueueWhileItsGroupMovesOn(t *testing.T) {
	env := setup(t)
	url, dlq := env.createFIFOPair(t, 3)
	env.send(t, url, "poison", inGroup("wo-1", "1"))
	env.send(t, url, "after poison", inGroup("wo-1", "2"))
	env.send(t, url, "other group", inGroup("wo-2", "3"))
	var processed []string
	handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// Lambda's rule for FIFO queues: after the first failure, report it
		// and every message after it.
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == "poison" || len(resp.BatchItemFailures) > 0 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				continue
			}
			processed = append(processed, r.Body)
		}
		return resp, nil
	}
	p := newPoller(t, env, url, handler)
	// One message per invocation: a batch of several would count a receive
	// against "after poison" each time poison fails, and move it too.
	p.BatchSize = 1
	for range 5 {
		for {
			n, err := pollOnce(t, p)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		env.clock.Advance(30 * time.Second)
	}
	env.clock.Advance(24 * time.Hour)
	if !slices.Equal(processed, []string{"other group", "after poison"}) {
		t.Fatalf("processed %v", processed)
	}
	if c := env.counts(t, url); c != [3]string{"0", "0", "0"} {
		t.Fatalf("source queue after a day %v", c)
	}
	moved := env.receive(t, dlq, 10)
	if !slices.Equal(bodies(moved), []string{"poison"}) || moved[0].Attributes["ApproximateReceiveCount"] != "4" {
		t.Fatalf("dead-letter queue after a day: %v", moved)
	}
	env.clock.Advance(4 * 24 * time.Hour)
	if c := env.counts(t, dlq); c != [3]string{"0", "0", "0"} {
		t.Fatalf("dead-letter queue after its retention period %v", c)
	}
}

func TestRunPollsUntilItsContextEnds(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", nil)
	got := make(chan string, 1)
	p := newPoller(t, env, url, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got <- ev.Records[0].Body
		return events.SQSEventResponse{}, nil
	})
	p.OnError = func(err error) { t.Errorf("Run: %v", err) }
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Run(ctx, time.Millisecond)
	}()
	env.send(t, url, "job")
	if body := <-got; body != "job" {
		t.Fatalf("handled %q", body)
	}
	cancel()
	<-stopped
}
