package sqsserver_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wxchannel/shared/local/sqsserver"
)

// fakeClock is the server's clock in tests: it stands still until a test
// advances it.
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

// testEnv is a server on a fake clock and the real SDK client pointed at it.
type testEnv struct {
	srv    *sqsserver.Server
	client *sqs.Client
	clock  *fakeClock
}

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T) *testEnv {
	t.Helper()
	srv, err := sqsserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	clock := &fakeClock{now: epoch}
	srv.SetClock(clock.Now)
	client := srv.NewClient(func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	return &testEnv{srv: srv, client: client, clock: clock}
}

// createQueue creates a queue and returns its URL.
func (e *testEnv) createQueue(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	out, err := e.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// createFIFOPair creates a FIFO queue whose dead-letter queue is a second
// FIFO queue, the production layout, and returns both URLs.
func (e *testEnv) createFIFOPair(t *testing.T, maxReceiveCount int) (queueURL, dlqURL string) {
	t.Helper()
	dlqURL = e.createQueue(t, "events-dlq.fifo", map[string]string{"FifoQueue": "true"})
	queueURL = e.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30",
		"RedrivePolicy": redrive(e.attributes(t, dlqURL)["QueueArn"], maxReceiveCount)})
	return queueURL, dlqURL
}

func redrive(arn string, maxReceiveCount int) string {
	return `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"` + strconv.Itoa(maxReceiveCount) + `"}`
}

func (e *testEnv) attributes(t *testing.T, queueURL string) map[string]string {
	t.Helper()
	out, err := e.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// counts are a queue's approximate numbers: available, in flight, delayed.
func (e *testEnv) counts(t *testing.T, queueURL string) [3]string {
	t.Helper()
	a := e.attributes(t, queueURL)
	return [3]string{a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"], a["ApproximateNumberOfMessagesDelayed"]}
}

func (e *testEnv) send(t *testing.T, queueURL, body string, opts ...func(*sqs.SendMessageInput)) *sqs.SendMessageOutput {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)}
	for _, o := range opts {
		o(in)
	}
	out, err := e.client.SendMessage(t.Context(), in)
	if err != nil {
		t.Fatalf("SendMessage %q: %v", body, err)
	}
	return out
}

// inGroup sends to a FIFO message group with an explicit deduplication id.
func inGroup(group, deduplicationID string) func(*sqs.SendMessageInput) {
	return func(in *sqs.SendMessageInput) {
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(deduplicationID)
	}
}

// receive receives up to maxMessages with every system attribute, without
// waiting.
func (e *testEnv) receive(t *testing.T, queueURL string, maxMessages int32, opts ...func(*sqs.ReceiveMessageInput)) []types.Message {
	t.Helper()
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: maxMessages,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}}
	for _, o := range opts {
		o(in)
	}
	out, err := e.client.ReceiveMessage(t.Context(), in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (e *testEnv) deleteMessage(t *testing.T, queueURL string, m types.Message) {
	t.Helper()
	if _, err := e.client.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage %s: %v", aws.ToString(m.Body), err)
	}
}

func bodies(messages []types.Message) []string {
	out := []string{}
	for _, m := range messages {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}
