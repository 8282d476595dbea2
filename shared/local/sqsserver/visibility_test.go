package sqsserver_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestAReceivedMessageStaysHiddenUntilItsVisibilityTimeoutPasses(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30"})
	env.send(t, url, "job")
	first := env.receive(t, url, 1)
	env.clock.Advance(29 * time.Second)
	if got := env.receive(t, url, 1); len(got) != 0 {
		t.Fatalf("visible after 29s: %v", bodies(got))
	}
	env.clock.Advance(time.Second)
	again := env.receive(t, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 5 })
	if len(again) != 1 || aws.ToString(again[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Fatalf("after 30s: %v", again)
	}
	if a := again[0].Attributes; a["ApproximateReceiveCount"] != "2" || a["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Fatalf("second receive's attributes %v", a)
	}
	env.clock.Advance(5 * time.Second)
	if got := env.receive(t, url, 1); len(got) != 1 {
		t.Fatal("a receive's own visibility timeout was not honoured")
	}
}

func TestDelayedMessagesAppearWhenTheirDelayEnds(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "reminders", map[string]string{"DelaySeconds": "10"})
	env.send(t, url, "queue delay")
	env.send(t, url, "own delay", func(in *sqs.SendMessageInput) { in.DelaySeconds = 60 })
	if c := env.counts(t, url); c != [3]string{"0", "0", "2"} {
		t.Fatalf("counts %v", c)
	}
	env.clock.Advance(10 * time.Second)
	first := env.receive(t, url, 10)
	if got := bodies(first); !slices.Equal(got, []string{"queue delay"}) {
		t.Fatalf("after 10s: %v", got)
	}
	env.deleteMessage(t, url, first[0])
	env.clock.Advance(50 * time.Second)
	if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"own delay"}) {
		t.Fatalf("after 60s: %v", got)
	}
}

func TestChangeMessageVisibilityMovesTheMomentAMessageReappears(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30"})
	env.send(t, url, "job")
	m := env.receive(t, url, 1)[0]
	change := func(handle *string, seconds int32) error {
		_, err := env.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: handle, VisibilityTimeout: seconds})
		return err
	}
	if err := change(m.ReceiptHandle, 120); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(119 * time.Second)
	if got := env.receive(t, url, 1); len(got) != 0 {
		t.Fatal("visible before the extended timeout")
	}
	if err := change(m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	again := env.receive(t, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 43200 })
	if len(again) != 1 {
		t.Fatal("not visible after a change to 0")
	}
	var invalid *types.ReceiptHandleIsInvalid
	if err := change(m.ReceiptHandle, 10); !errors.As(err, &invalid) || invalid.ErrorMessage() != "The receipt handle has expired." {
		t.Fatalf("a change with the first, stale handle: %v", err)
	}
	env.clock.Advance(11*time.Hour + 59*time.Minute)
	if err := change(again[0].ReceiptHandle, 120); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("a change past 12 hours from the receive: %v", err)
	}
	if err := change(again[0].ReceiptHandle, 30); err != nil {
		t.Fatalf("a change within 12 hours of the receive: %v", err)
	}
	env.deleteMessage(t, url, again[0])
	if err := change(again[0].ReceiptHandle, 30); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("a change of a deleted message: %v", err)
	}
}

func TestDeleteWithAStaleHandleKeepsAStandardMessageAndFailsOnAFIFOQueue(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	standard := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30"})
	fifo := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})
	env.send(t, standard, "job")
	env.send(t, fifo, "event", inGroup("g", "d"))
	for _, url := range []string{standard, fifo} {
		stale := env.receive(t, url, 1)[0]
		env.clock.Advance(30 * time.Second)
		current := env.receive(t, url, 1)[0]
		_, err := env.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: stale.ReceiptHandle})
		if url == fifo && apiCode(err) != "ReceiptHandleIsInvalid" || url == standard && err != nil {
			t.Fatalf("%s: delete with a stale handle: %v", url, err)
		}
		if c := env.counts(t, url); c[1] != "1" {
			t.Fatalf("%s: a stale handle deleted the message: %v", url, c)
		}
		env.deleteMessage(t, url, current)
		env.deleteMessage(t, url, current) // deleting again succeeds
		if c := env.counts(t, url); c != [3]string{"0", "0", "0"} {
			t.Fatalf("%s: after delete %v", url, c)
		}
	}
	env.send(t, fifo, "late", inGroup("g", "d2"))
	late := env.receive(t, fifo, 1)[0]
	env.clock.Advance(30 * time.Second)
	_, err := env.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(fifo), ReceiptHandle: late.ReceiptHandle})
	if apiCode(err) != "ReceiptHandleIsInvalid" {
		t.Fatalf("a FIFO delete after the visibility timeout: %v", err)
	}
}

func TestAMessageReceivedMaxReceiveCountTimesMovesToTheDeadLetterQueue(t *testing.T) {
	env := setup(t)
	dlq := env.createQueue(t, "workorders-dlq", nil)
	url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "30",
		"RedrivePolicy": redrive(env.attributes(t, dlq)["QueueArn"], 3)})
	sent := env.send(t, url, "poison")
	for i := 1; i <= 3; i++ {
		got := env.receive(t, url, 1)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d: %v", i, got)
		}
		env.clock.Advance(30 * time.Second)
	}
	if got := env.receive(t, url, 10); len(got) != 0 {
		t.Fatalf("a fourth receive delivered %v", bodies(got))
	}
	moved := env.receive(t, dlq, 10)
	if len(moved) != 1 || aws.ToString(moved[0].MessageId) != aws.ToString(sent.MessageId) || aws.ToString(moved[0].Body) != "poison" {
		t.Fatalf("dead-letter queue holds %v", moved)
	}
	a := moved[0].Attributes
	if a["DeadLetterQueueSourceArn"] != env.attributes(t, url)["QueueArn"] || a["ApproximateReceiveCount"] != "4" {
		t.Fatalf("moved message's attributes %v", a)
	}
}

func TestAFIFODeadLetterMoveKeepsTheGroupAndReleasesTheNextMessage(t *testing.T) {
	env := setup(t)
	url, dlq := env.createFIFOPair(t, 2)
	env.send(t, url, "poison", inGroup("wo-1", "p"))
	env.send(t, url, "next", inGroup("wo-1", "n"))
	for range 2 {
		if got := bodies(env.receive(t, url, 1)); !slices.Equal(got, []string{"poison"}) {
			t.Fatalf("received %v", got)
		}
		env.clock.Advance(30 * time.Second)
	}
	if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"next"}) {
		t.Fatalf("the receive that moves poison delivers %v", got)
	}
	moved := env.receive(t, dlq, 10)
	if len(moved) != 1 || moved[0].Attributes["MessageGroupId"] != "wo-1" || moved[0].Attributes["MessageDeduplicationId"] != "p" {
		t.Fatalf("dead-letter queue holds %v", moved)
	}
}

func TestMessagesOlderThanTheRetentionPeriodDisappear(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", map[string]string{"MessageRetentionPeriod": "3600"})
	env.send(t, url, "old")
	env.receive(t, url, 1) // in flight when it expires
	env.clock.Advance(30 * time.Minute)
	env.send(t, url, "young")
	env.clock.Advance(30 * time.Minute)
	if c := env.counts(t, url); c != [3]string{"1", "0", "0"} {
		t.Fatalf("after an hour %v", c)
	}
	if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"young"}) {
		t.Fatalf("received %v", got)
	}
}

func TestAWaitingLongPollIsWokenByASend(t *testing.T) {
	env := setup(t)
	env.srv.SetRecheck(time.Hour) // only a wake-up can end the poll early
	url := env.createQueue(t, "workorders", nil)
	received := make(chan []types.Message, 1)
	errs := make(chan error, 1)
	// The client gives up well before the poll's own 20 seconds run out, so
	// only a wake-up by the send can deliver the message.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	go func() {
		out, err := env.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			errs <- err
			return
		}
		received <- out.Messages
	}()
	waitFor(t, func() bool { return env.srv.LongPollers() == 1 })
	env.send(t, url, "wake up")
	select {
	case got := <-received:
		if !slices.Equal(bodies(got), []string{"wake up"}) {
			t.Fatalf("long poll returned %v", bodies(got))
		}
	case err := <-errs:
		t.Fatal(err)
	}
}

func TestCloseEndsAWaitingLongPoll(t *testing.T) {
	env := setup(t)
	env.srv.SetRecheck(time.Hour)
	url := env.createQueue(t, "workorders", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = env.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
	}()
	waitFor(t, func() bool { return env.srv.LongPollers() == 1 })
	if err := env.srv.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
}

// waitFor polls cond for up to five seconds: long polls start in their own
// goroutine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 5000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition not met in five seconds")
}
