package sqsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is a Lambda function's handler for SQS events that reports
// partial batch failures (the event source mapping's
// ReportBatchItemFailures): each listed message stays in the queue, the
// rest are deleted.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// ErrInvalidItemIdentifier reports a BatchItemFailures entry that names no
// message of the batch: Lambda then counts the whole batch as failed.
var ErrInvalidItemIdentifier = errors.New("batch item failure names no message of the batch")

const (
	eventSource      = "aws:sqs"
	defaultBatchSize = 10
)

// Poller stands in for Lambda's SQS event source mapping: it receives a
// batch, hands it to the handler as Lambda's event, and deletes what the
// handler processed. It differs from Lambda in that it is one loop (Lambda
// runs several pollers and scales concurrent invocations, for FIFO up to
// the number of active message groups), it takes one receive per
// invocation (no batching window, so at most 10 messages), it does not
// enforce a function timeout, and it always reports batch item failures.
// A Poller is not for concurrent use.
type Poller struct {
	// BatchSize is the most messages one invocation gets, 1 to 10; zero
	// (or more than 10) means 10.
	BatchSize int
	// OnError, if set, hears every error Run meets — a failed receive or
	// delete, the handler's error — after which Run carries on, as Lambda
	// does.
	OnError func(error)

	client   *sqs.Client
	queueURL string
	queueARN string
	region   string
	handler  Handler
}

// NewPoller maps the queue at queueURL to handler. It looks up the queue's
// ARN, which every record carries, as creating an event source mapping
// checks the queue.
func NewPoller(ctx context.Context, client *sqs.Client, queueURL string, handler Handler) (*Poller, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue arn: %w", err)
	}
	return &Poller{client: client, queueURL: queueURL, queueARN: out.Attributes[attrQueueArn],
		region: client.Options().Region, handler: handler}, nil
}

// PollOnce receives one batch without waiting and, when there is one,
// invokes the handler and deletes the messages it processed. It returns how
// many messages it received, and an error when the receive or a delete
// failed or the handler failed (then nothing was deleted: every message
// reappears after its visibility timeout).
func (p *Poller) PollOnce(ctx context.Context) (received int, err error) {
	return p.poll(ctx, 0)
}

// Run polls until ctx ends. When the queue is empty it waits idle for
// messages: whole seconds up to 20 as the receive's long poll, below a
// second by pausing between receives; zero or less means 20 seconds, the
// wait of Lambda's pollers.
func (p *Poller) Run(ctx context.Context, idle time.Duration) {
	if idle <= 0 {
		idle = maxLongPoll
	}
	wait := int32(min(idle, maxLongPoll) / time.Second)
	for ctx.Err() == nil {
		n, err := p.poll(ctx, wait)
		if err != nil && ctx.Err() == nil && p.OnError != nil {
			p.OnError(err)
		}
		if n == 0 && (wait == 0 || err != nil) {
			pause(ctx, idle)
		}
	}
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (p *Poller) poll(ctx context.Context, wait int32) (int, error) {
	size := p.BatchSize
	if size <= 0 || size > maxReceiveBatch {
		size = defaultBatchSize
	}
	out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.queueURL),
		MaxNumberOfMessages:         int32(size),
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{attrAll},
	})
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev, err := p.event(out.Messages)
	if err != nil {
		return len(out.Messages), err
	}
	resp, err := invoke(ctx, p.handler, ev)
	if err != nil {
		return len(out.Messages), fmt.Errorf("handler: %w", err)
	}
	failed, err := failedItems(resp, ev)
	if err != nil {
		return len(out.Messages), err
	}
	return len(out.Messages), p.deleteProcessed(ctx, out.Messages, failed)
}

// invoke calls the handler; a panic fails the invocation, as the Lambda
// runtime reports it.
func invoke(ctx context.Context, handler Handler, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return handler(ctx, ev)
}

// event builds the event Lambda sends, passed through JSON as the function
// would receive it.
func (p *Poller) event(messages []types.Message) (events.SQSEvent, error) {
	var ev events.SQSEvent
	for _, m := range messages {
		attrs := map[string]events.SQSMessageAttribute{}
		for name, v := range m.MessageAttributes {
			attrs[name] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: []string{}, BinaryListValues: [][]byte{}}
		}
		system := maps.Clone(m.Attributes)
		if system == nil {
			system = map[string]string{}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             system,
			MessageAttributes:      attrs,
			EventSourceARN:         p.queueARN,
			EventSource:            eventSource,
			AWSRegion:              p.region,
		})
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return ev, fmt.Errorf("encode event: %w", err)
	}
	var delivered events.SQSEvent
	if err := json.Unmarshal(raw, &delivered); err != nil {
		return ev, fmt.Errorf("decode event: %w", err)
	}
	return delivered, nil
}

// failedItems are the message ids the handler reported as failed. Like
// Lambda, an empty or unknown identifier fails the whole batch.
func failedItems(resp events.SQSEventResponse, ev events.SQSEvent) (map[string]bool, error) {
	inBatch := map[string]bool{}
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			return nil, fmt.Errorf("%w: %q", ErrInvalidItemIdentifier, f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// deleteProcessed deletes every message not reported as failed.
func (p *Poller) deleteProcessed(ctx context.Context, messages []types.Message, failed map[string]bool) error {
	var entries []types.DeleteMessageBatchRequestEntry
	for i, m := range messages {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries})
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("delete: %d of %d failed, first %s: %s", len(out.Failed), len(entries), aws.ToString(f.Code), aws.ToString(f.Message))
	}
	return nil
}
