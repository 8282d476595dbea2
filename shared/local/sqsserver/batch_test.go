package sqsserver_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSendMessageBatchFailsBadEntriesAndSendsTheRest(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true"})
	out, err := env.client.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url),
		Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("first"), MessageBody: aws.String("one"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("1")},
			{Id: aws.String("no-group"), MessageBody: aws.String("lost"), MessageDeduplicationId: aws.String("2")},
			{Id: aws.String("control"), MessageBody: aws.String("a\x01"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("3")},
			{Id: aws.String("second"), MessageBody: aws.String("two"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("4")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	var ok []string
	for _, e := range out.Successful {
		ok = append(ok, aws.ToString(e.Id))
		if aws.ToString(e.SequenceNumber) == "" || aws.ToString(e.MessageId) == "" {
			t.Errorf("entry %s: %+v", aws.ToString(e.Id), e)
		}
	}
	failed := map[string]string{}
	for _, e := range out.Failed {
		if !e.SenderFault {
			t.Errorf("entry %s is not the sender's fault", aws.ToString(e.Id))
		}
		failed[aws.ToString(e.Id)] = aws.ToString(e.Code)
	}
	if !slices.Equal(ok, []string{"first", "second"}) || failed["no-group"] != "MissingParameter" || failed["control"] != "InvalidMessageContents" {
		t.Fatalf("successful %v, failed %v", ok, failed)
	}
	if got := bodies(env.receive(t, url, 10)); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("received %v", got)
	}
}

func TestDeleteAndVisibilityBatchesFailEntryByEntry(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	url := env.createQueue(t, "workorders", nil)
	env.send(t, url, "a")
	env.send(t, url, "b")
	got := env.receive(t, url, 2)
	del, err := env.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url),
		Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: got[0].ReceiptHandle},
			{Id: aws.String("junk"), ReceiptHandle: aws.String("not-a-handle")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Successful) != 1 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch: %+v", del)
	}
	change, err := env.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("b"), ReceiptHandle: got[1].ReceiptHandle, VisibilityTimeout: 0},
			{Id: aws.String("deleted"), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(change.Successful) != 1 || aws.ToString(change.Successful[0].Id) != "b" || aws.ToString(change.Failed[0].Code) != "InvalidParameterValue" {
		t.Fatalf("ChangeMessageVisibilityBatch: %+v", change)
	}
	if again := bodies(env.receive(t, url, 10)); !slices.Equal(again, []string{"b"}) {
		t.Fatalf("after the batches: %v", again)
	}
}

func TestConcurrentSendersAndReceiversGetEachMessageOnce(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	url := env.createQueue(t, "workorders", nil)
	const senders, perSender = 4, 25
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				body := fmt.Sprintf("%d-%d", s, i)
				if _, err := env.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	seen := map[string]int{}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	for range 4 {
		wg.Go(func() {
			for total() < senders*perSender && !t.Failed() {
				out, err := env.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range out.Messages {
					if _, err := env.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seen[aws.ToString(m.Body)]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for body, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", body, n)
		}
	}
	if len(seen) != senders*perSender {
		t.Errorf("received %d distinct messages", len(seen))
	}
}
