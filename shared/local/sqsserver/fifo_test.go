package sqsserver_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestAFIFOGroupIsDeliveredInOrderAndHeldWhileAMessageIsInFlight(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})
	for _, b := range []string{"a1", "b1", "a2", "b2", "a3"} {
		env.send(t, url, b, inGroup(b[:1], b))
	}
	steps := []struct {
		name   string
		max    int32
		delete []string // of the messages received in this step
		want   []string
	}{
		{"a receive takes one group's messages in order first", 2, []string{"a1"}, []string{"a1", "a2"}},
		{"then other groups; a2 in flight holds a3 back", 10, nil, []string{"b1", "b2"}},
		{"nothing while both groups have messages in flight", 10, nil, []string{}},
	}
	var a2 types.Message
	for _, step := range steps {
		got := env.receive(t, url, step.max)
		if !slices.Equal(bodies(got), step.want) {
			t.Fatalf("%s: received %v, want %v", step.name, bodies(got), step.want)
		}
		for _, m := range got {
			if slices.Contains(step.delete, aws.ToString(m.Body)) {
				env.deleteMessage(t, url, m)
			}
			if aws.ToString(m.Body) == "a2" {
				a2 = m
			}
		}
	}
	env.deleteMessage(t, url, a2)
	if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"a3"}) {
		t.Fatalf("after a2 is deleted: %v", got)
	}
	env.clock.Advance(30 * time.Second)
	got := env.receive(t, url, 10)
	if !slices.Equal(bodies(got), []string{"b1", "b2", "a3"}) || got[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the visibility timeout: %v", bodies(got))
	}
}

func TestFIFOMessagesCarryTheirGroupDeduplicationIdAndIncreasingSequenceNumbers(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true"})
	first := env.send(t, url, "one", inGroup("wo-1", "d-1"))
	second := env.send(t, url, "two", inGroup("wo-1", "d-2"))
	if aws.ToString(first.SequenceNumber) == "" || aws.ToString(first.SequenceNumber) >= aws.ToString(second.SequenceNumber) {
		t.Fatalf("sequence numbers %s, %s", aws.ToString(first.SequenceNumber), aws.ToString(second.SequenceNumber))
	}
	got := env.receive(t, url, 10)
	if len(got) != 2 {
		t.Fatalf("received %v", bodies(got))
	}
	a := got[0].Attributes
	if a["MessageGroupId"] != "wo-1" || a["MessageDeduplicationId"] != "d-1" || a["SequenceNumber"] != aws.ToString(first.SequenceNumber) {
		t.Fatalf("attributes %v", a)
	}
}

func TestAFIFOQueueDropsARepeatedDeduplicationIdForFiveMinutes(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true"})
	first := env.send(t, url, "created", inGroup("wo-1", "wo-1-created"))
	env.clock.Advance(4*time.Minute + 59*time.Second)
	repeat := env.send(t, url, "created", inGroup("wo-1", "wo-1-created"))
	if aws.ToString(repeat.MessageId) != aws.ToString(first.MessageId) || aws.ToString(repeat.SequenceNumber) != aws.ToString(first.SequenceNumber) {
		t.Fatalf("a repeat within the window answered %s, the first %s", aws.ToString(repeat.MessageId), aws.ToString(first.MessageId))
	}
	if c := env.counts(t, url); c[0] != "1" {
		t.Fatalf("queue holds %v", c)
	}
	env.clock.Advance(time.Second)
	later := env.send(t, url, "created", inGroup("wo-1", "wo-1-created"))
	if aws.ToString(later.MessageId) == aws.ToString(first.MessageId) {
		t.Fatal("a send after five minutes was deduplicated")
	}
	if c := env.counts(t, url); c[0] != "2" {
		t.Fatalf("queue holds %v", c)
	}
}

func TestContentBasedDeduplicationComparesBodies(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	group := func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("wo-1") }
	first := env.send(t, url, `{"event":"created"}`, group)
	repeat := env.send(t, url, `{"event":"created"}`, group)
	other := env.send(t, url, `{"event":"assigned"}`, group)
	if aws.ToString(repeat.MessageId) != aws.ToString(first.MessageId) || aws.ToString(other.MessageId) == aws.ToString(first.MessageId) {
		t.Fatalf("message ids %s %s %s", aws.ToString(first.MessageId), aws.ToString(repeat.MessageId), aws.ToString(other.MessageId))
	}
	got := env.receive(t, url, 10)
	if !slices.Equal(bodies(got), []string{`{"event":"created"}`, `{"event":"assigned"}`}) {
		t.Fatalf("received %v", bodies(got))
	}
	// SQS's content-based id is the SHA-256 of the body.
	sum := sha256.Sum256([]byte(`{"event":"created"}`))
	if id := got[0].Attributes["MessageDeduplicationId"]; id != hex.EncodeToString(sum[:]) {
		t.Fatalf("deduplication id %q", id)
	}
}
