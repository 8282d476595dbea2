package sqsserver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// is reports whether err is, by errors.As, the SDK's typed error T.
func is[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestErrorAnswersBecomeTheSDKsTypedErrors(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	url := env.createQueue(t, "workorders", nil)
	fifo := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true"})
	env.send(t, url, "in flight")
	inFlight := env.receive(t, url, 1)[0]
	env.send(t, url, "received, then visible again")
	visibleAgain := env.receive(t, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 1 })[0]
	env.clock.Advance(2 * time.Second)
	entries := func(n int) []types.SendMessageBatchRequestEntry {
		var out []types.SendMessageBatchRequestEntry
		for i := range n {
			out = append(out, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strings.Repeat("x", i)), MessageBody: aws.String("x")})
		}
		return out
	}
	tests := []struct {
		name  string
		call  func() error
		typed func(error) bool
		code  string
	}{
		{"an unknown queue name", func() error {
			_, err := env.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, is[*types.QueueDoesNotExist], "AWS.SimpleQueueService.NonExistentQueue"},
		{"a receipt handle that is not one", func() error {
			_, err := env.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
			return err
		}, is[*types.ReceiptHandleIsInvalid], "ReceiptHandleIsInvalid"},
		{"a receipt handle of another queue", func() error {
			_, err := env.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(fifo),
				ReceiptHandle: inFlight.ReceiptHandle, VisibilityTimeout: 10})
			return err
		}, is[*types.ReceiptHandleIsInvalid], "ReceiptHandleIsInvalid"},
		{"a visibility change of a message not in flight", func() error {
			_, err := env.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
				ReceiptHandle: visibleAgain.ReceiptHandle, VisibilityTimeout: 10})
			return err
		}, is[*types.MessageNotInflight], "AWS.SimpleQueueService.MessageNotInflight"},
		{"an unknown queue attribute", func() error {
			_, err := env.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
				AttributeNames: []types.QueueAttributeName{"Colour"}})
			return err
		}, is[*types.InvalidAttributeName], "InvalidAttributeName"},
		{"a visibility timeout over 12 hours on a queue", func() error {
			_, err := env.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("slow"),
				Attributes: map[string]string{"VisibilityTimeout": "43201"}})
			return err
		}, is[*types.InvalidAttributeValue], "InvalidAttributeValue"},
		{"a body with a control character", func() error {
			_, err := env.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a\x00b")})
			return err
		}, is[*types.InvalidMessageContents], "InvalidMessageContents"},
		{"an empty batch", func() error {
			_, err := env.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{}})
			return err
		}, is[*types.EmptyBatchRequest], "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"a batch of eleven", func() error {
			_, err := env.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries(11)})
			return err
		}, is[*types.TooManyEntriesInBatchRequest], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"a batch with a repeated id", func() error {
			e := entries(1)
			_, err := env.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: append(e, e...)})
			return err
		}, is[*types.BatchEntryIdsNotDistinct], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"a batch entry id with a space", func() error {
			_, err := env.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url),
				Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String("a b"), ReceiptHandle: inFlight.ReceiptHandle}}})
			return err
		}, is[*types.InvalidBatchEntryId], "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"a batch over 256 KiB", func() error {
			e := entries(2)
			e[0].MessageBody, e[1].MessageBody = aws.String(strings.Repeat("a", 200<<10)), aws.String(strings.Repeat("b", 100<<10))
			_, err := env.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: e})
			return err
		}, is[*types.BatchRequestTooLong], "AWS.SimpleQueueService.BatchRequestTooLong"},
		{"an operation the server does not serve", func() error {
			_, err := env.client.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(url), Tags: map[string]string{"a": "b"}})
			return err
		}, is[*types.UnsupportedOperation], "AWS.SimpleQueueService.UnsupportedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !tt.typed(err) {
				t.Fatalf("got %T %v", err, err)
			}
			if code := apiCode(err); code != tt.code {
				t.Fatalf("ErrorCode() = %q, want %q", code, tt.code)
			}
		})
	}
}

func TestRequestsAreValidatedLikeSQS(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	url := env.createQueue(t, "workorders", nil)
	fifo := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true"})
	env.send(t, url, "x")
	handle := env.receive(t, url, 1)[0].ReceiptHandle
	send := func(queueURL, body string, opts ...func(*sqs.SendMessageInput)) func() error {
		return func() error {
			in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)}
			for _, o := range opts {
				o(in)
			}
			_, err := env.client.SendMessage(ctx, in)
			return err
		}
	}
	receive := func(in sqs.ReceiveMessageInput) func() error {
		return func() error {
			in.QueueUrl = aws.String(url)
			_, err := env.client.ReceiveMessage(ctx, &in)
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"a FIFO send without a group", send(fifo, "x", func(in *sqs.SendMessageInput) { in.MessageDeduplicationId = aws.String("d") }),
			"MissingParameter"},
		{"a FIFO send without a deduplication id", send(fifo, "x", func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") }),
			"InvalidParameterValue"},
		{"a FIFO send with a per-message delay", send(fifo, "x", inGroup("g", "d"), func(in *sqs.SendMessageInput) { in.DelaySeconds = 5 }),
			"InvalidParameterValue"},
		{"a standard send with a deduplication id", send(url, "x", func(in *sqs.SendMessageInput) { in.MessageDeduplicationId = aws.String("d") }),
			"InvalidParameterValue"},
		{"a group id with a space", send(fifo, "x", inGroup("a b", "d")), "InvalidParameterValue"},
		{"a delay over 15 minutes", send(url, "x", func(in *sqs.SendMessageInput) { in.DelaySeconds = 901 }), "InvalidParameterValue"},
		{"a body over 256 KiB", send(url, strings.Repeat("a", 256<<10+1)), "InvalidParameterValue"},
		{"an empty body", send(url, ""), "MissingParameter"},
		{"eleven messages at once", receive(sqs.ReceiveMessageInput{MaxNumberOfMessages: 11}), "InvalidParameterValue"},
		{"a receive visibility over 12 hours", receive(sqs.ReceiveMessageInput{VisibilityTimeout: 43201}), "InvalidParameterValue"},
		{"a long poll over 20 seconds", receive(sqs.ReceiveMessageInput{WaitTimeSeconds: 21}), "InvalidParameterValue"},
		{"a visibility change over 12 hours", func() error {
			_, err := env.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
				ReceiptHandle: handle, VisibilityTimeout: 43201})
			return err
		}, "InvalidParameterValue"},
		{"a FIFO queue name without .fifo", func() error {
			_, err := env.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events"),
				Attributes: map[string]string{"FifoQueue": "true"}})
			return err
		}, "InvalidParameterValue"},
		{"a redrive policy to a queue that does not exist", func() error {
			_, err := env.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orphan"),
				Attributes: map[string]string{"RedrivePolicy": redrive("arn:aws-cn:sqs:cn-north-1:000000000000:nope", 3)}})
			return err
		}, "InvalidParameterValue"},
		{"a standard queue redriving to a FIFO queue", func() error {
			_, err := env.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("mixed"),
				Attributes: map[string]string{"RedrivePolicy": redrive(env.attributes(t, fifo)["QueueArn"], 3)}})
			return err
		}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := apiCode(tt.call()); code != tt.code {
				t.Fatalf("error code %q, want %q", code, tt.code)
			}
		})
	}
}
