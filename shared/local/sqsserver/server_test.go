package sqsserver_test

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

func TestAMessageRoundTripsThroughTheSDKWithItsAttributes(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", nil)
	sent := env.send(t, url, `{"order":"WO-1"}`, func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			"tenant":   {DataType: aws.String("String"), StringValue: aws.String("t-1")},
			"attempt":  {DataType: aws.String("Number"), StringValue: aws.String("3")},
			"checksum": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-abc")},
		}
	})
	if aws.ToString(sent.MD5OfMessageAttributes) == "" || aws.ToString(sent.MD5OfMessageSystemAttributes) == "" {
		t.Fatalf("SendMessage returned no attribute checksums: %+v", sent)
	}
	env.clock.Advance(2 * time.Second)
	got := env.receive(t, url, 10)
	if len(got) != 1 {
		t.Fatalf("received %d messages", len(got))
	}
	m := got[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.Body) != `{"order":"WO-1"}` {
		t.Fatalf("received %s %q", aws.ToString(m.MessageId), aws.ToString(m.Body))
	}
	if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) {
		t.Fatalf("attribute checksum %s on receive, %s on send", aws.ToString(m.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes))
	}
	if v := m.MessageAttributes["checksum"]; !bytes.Equal(v.BinaryValue, []byte{0, 1, 2}) || aws.ToString(m.MessageAttributes["attempt"].StringValue) != "3" {
		t.Fatalf("message attributes %+v", m.MessageAttributes)
	}
	want := map[string]string{
		"SenderId":                         "local",
		"SentTimestamp":                    strconv.FormatInt(epoch.UnixMilli(), 10),
		"ApproximateReceiveCount":          "1",
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(epoch.Add(2*time.Second).UnixMilli(), 10),
		"AWSTraceHeader":                   "Root=1-abc",
	}
	if !maps.Equal(m.Attributes, want) {
		t.Fatalf("system attributes %v, want %v", m.Attributes, want)
	}
	env.deleteMessage(t, url, m)
	if c := env.counts(t, url); c != [3]string{"0", "0", "0"} {
		t.Fatalf("after delete the queue holds %v", c)
	}
}

func TestAReceiveReturnsOnlyTheAttributesItNames(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "workorders", nil)
	env.send(t, url, "x", func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			"order.id":   {DataType: aws.String("String"), StringValue: aws.String("WO-1")},
			"order.kind": {DataType: aws.String("String"), StringValue: aws.String("repair")},
			"tenant":     {DataType: aws.String("String"), StringValue: aws.String("t-1")},
		}
	})
	got := env.receive(t, url, 1, func(in *sqs.ReceiveMessageInput) {
		in.MessageSystemAttributeNames = nil
		in.AttributeNames = []types.QueueAttributeName{"ApproximateReceiveCount"} //nolint:staticcheck // the older parameter, still honoured
		in.MessageAttributeNames = []string{"order.*"}
	})
	if len(got) != 1 || len(got[0].Attributes) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("system attributes %v", got)
	}
	if names := slices.Sorted(maps.Keys(got[0].MessageAttributes)); !slices.Equal(names, []string{"order.id", "order.kind"}) {
		t.Fatalf("message attributes %v", names)
	}
}

func TestCreateQueueIsIdempotentButRefusesDifferentAttributes(t *testing.T) {
	env := setup(t)
	first := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})
	again := env.createQueue(t, "events.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})
	if first != again || !strings.HasSuffix(first, "/000000000000/events.fifo") {
		t.Fatalf("queue urls %s and %s", first, again)
	}
	_, err := env.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("events.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "VisibilityTimeout": "60"}})
	if _, ok := errors.AsType[*types.QueueNameExists](err); !ok {
		t.Fatalf("CreateQueue with another visibility timeout: %v", err)
	}
	got, err := env.client.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("events.fifo")})
	if err != nil || aws.ToString(got.QueueUrl) != first {
		t.Fatalf("GetQueueUrl: %v %v", got, err)
	}
}

func TestQueueAttributesDescribeTheQueueAndCountMessagesByState(t *testing.T) {
	env := setup(t)
	dlq := env.createQueue(t, "workorders-dlq", nil)
	dlqARN := env.attributes(t, dlq)["QueueArn"]
	url := env.createQueue(t, "workorders", map[string]string{"VisibilityTimeout": "45", "MessageRetentionPeriod": "86400",
		"RedrivePolicy": redrive(dlqARN, 5)})
	env.send(t, url, "received")
	env.send(t, url, "waiting")
	env.send(t, url, "delayed", func(in *sqs.SendMessageInput) { in.DelaySeconds = 60 })
	env.receive(t, url, 1)
	attrs := env.attributes(t, url)
	want := map[string]string{
		"QueueArn":                              "arn:aws-cn:sqs:cn-north-1:000000000000:workorders",
		"ApproximateNumberOfMessages":           "1",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"ApproximateNumberOfMessagesDelayed":    "1",
		"VisibilityTimeout":                     "45",
		"MessageRetentionPeriod":                "86400",
		"RedrivePolicy":                         `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":5}`,
		"DelaySeconds":                          "0",
		"MaximumMessageSize":                    "262144",
	}
	for name, value := range want {
		if attrs[name] != value {
			t.Errorf("%s = %q, want %q", name, attrs[name], value)
		}
	}
	if _, ok := attrs["FifoQueue"]; ok {
		t.Errorf("a standard queue reports FifoQueue")
	}
	out, err := env.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil || len(out.Attributes) != 1 {
		t.Fatalf("one named attribute: %v %v", out, err)
	}
}

func TestListQueuesFiltersByPrefixAndPages(t *testing.T) {
	env := setup(t)
	for _, name := range []string{"events.fifo", "events-dlq.fifo", "uploads", "events-archive"} {
		attrs := map[string]string(nil)
		if strings.HasSuffix(name, ".fifo") {
			attrs = map[string]string{"FifoQueue": "true"}
		}
		env.createQueue(t, name, attrs)
	}
	var names []string
	in := &sqs.ListQueuesInput{QueueNamePrefix: aws.String("events"), MaxResults: aws.Int32(2)}
	for range 3 {
		out, err := env.client.ListQueues(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.QueueUrls {
			names = append(names, u[strings.LastIndex(u, "/")+1:])
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if !slices.Equal(names, []string{"events-archive", "events-dlq.fifo", "events.fifo"}) {
		t.Fatalf("listed %v", names)
	}
}

func TestDeletedQueuesAreGone(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "uploads", nil)
	if _, err := env.client.DeleteQueue(t.Context(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	_, err := env.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) || missing.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("SendMessage to a deleted queue: %v", err)
	}
}

func TestPurgeEmptiesAQueueOnceAMinute(t *testing.T) {
	env := setup(t)
	url := env.createQueue(t, "uploads", nil)
	env.send(t, url, "a")
	env.send(t, url, "b")
	env.receive(t, url, 1)
	purge := func() error {
		_, err := env.client.PurgeQueue(t.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
		return err
	}
	if err := purge(); err != nil {
		t.Fatal(err)
	}
	if c := env.counts(t, url); c != [3]string{"0", "0", "0"} {
		t.Fatalf("after purge %v", c)
	}
	var inProgress *types.PurgeQueueInProgress
	if err := purge(); !errors.As(err, &inProgress) {
		t.Fatalf("second purge within a minute: %v", err)
	}
	env.clock.Advance(time.Minute)
	if err := purge(); err != nil {
		t.Fatalf("purge a minute later: %v", err)
	}
}

// apiCode is the code the SDK reports for an error answer.
func apiCode(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return ""
}
