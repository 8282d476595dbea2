package sqsserver

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message system attribute names, as SQS spells them.
const (
	sysSenderID               = "SenderId"
	sysSentTimestamp          = "SentTimestamp"
	sysApproxReceiveCount     = "ApproximateReceiveCount"
	sysApproxFirstReceive     = "ApproximateFirstReceiveTimestamp"
	sysSequenceNumber         = "SequenceNumber"
	sysMessageDeduplicationID = "MessageDeduplicationId"
	sysMessageGroupID         = "MessageGroupId"
	sysAWSTraceHeader         = "AWSTraceHeader"
	sysDeadLetterQueueSource  = "DeadLetterQueueSourceArn"
)

// The receive operation's JSON shapes.
type (
	receiveMessageInput struct {
		QueueURL string `json:"QueueUrl"`
		// AttributeNames is the older name of MessageSystemAttributeNames;
		// SQS honours both.
		AttributeNames              []string `json:"AttributeNames"`
		MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
		MessageAttributeNames       []string `json:"MessageAttributeNames"`
		MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
		VisibilityTimeout           *int     `json:"VisibilityTimeout"`
		WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
		ReceiveRequestAttemptID     string   `json:"ReceiveRequestAttemptId"`
	}
	receiveMessageOutput struct {
		Messages []receivedMessage `json:"Messages,omitempty"`
	}
	receivedMessage struct {
		MessageID              string                      `json:"MessageId"`
		ReceiptHandle          string                      `json:"ReceiptHandle"`
		MD5OfBody              string                      `json:"MD5OfBody"`
		Body                   string                      `json:"Body"`
		Attributes             map[string]string           `json:"Attributes,omitempty"`
		MD5OfMessageAttributes string                      `json:"MD5OfMessageAttributes,omitempty"`
		MessageAttributes      map[string]messageAttribute `json:"MessageAttributes,omitempty"`
	}
)

// receiveRequest is a checked ReceiveMessage; nil durations take the
// queue's defaults.
type receiveRequest struct {
	queueURL    string
	maxMessages int
	visibility  *time.Duration
	wait        *time.Duration
	system      []string
	attributes  []string
}

func (in *receiveMessageInput) check() (receiveRequest, *apiError) {
	r := receiveRequest{queueURL: in.QueueURL, maxMessages: 1, system: slices.Concat(in.AttributeNames, in.MessageSystemAttributeNames),
		attributes: in.MessageAttributeNames}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > maxReceiveBatch {
			return r, invalidValue("MaxNumberOfMessages", *n, "Must be between 1 and 10, if provided.")
		}
		r.maxMessages = *n
	}
	if v := in.VisibilityTimeout; v != nil {
		if !secondsWithin(*v, 0, maxVisibility) {
			return r, invalidValue(attrVisibilityTimeout, *v, "Must be >= 0 and <= 43200, if provided.")
		}
		d := time.Duration(*v) * time.Second
		r.visibility = &d
	}
	if w := in.WaitTimeSeconds; w != nil {
		if !secondsWithin(*w, 0, maxLongPoll) {
			return r, invalidValue("WaitTimeSeconds", *w, "Must be >= 0 and <= 20, if provided.")
		}
		d := time.Duration(*w) * time.Second
		r.wait = &d
	}
	return r, nil
}

// handleReceiveMessage answers at once when messages are available, and
// otherwise long-polls: it waits up to WaitTimeSeconds (real time) for a
// send, a visibility change or the clock to make one available.
func (s *Server) handleReceiveMessage(c *call) (any, *apiError) {
	var in receiveMessageInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	req, err := in.check()
	if err != nil {
		return nil, err
	}
	var deadline time.Time
	for {
		s.mu.Lock()
		out, wait, wake, err := s.receiveLocked(req)
		s.mu.Unlock()
		if deadline.IsZero() {
			deadline = time.Now().Add(wait)
		}
		if err != nil || len(out.Messages) > 0 || !time.Now().Before(deadline) {
			return out, err
		}
		if !s.waitForWake(c.ctx, wake, time.Until(deadline)) {
			return out, nil
		}
	}
}

// receiveLocked is one look at the queue: the messages delivered, the
// request's wait time and the channel that signals the next change.
func (s *Server) receiveLocked(req receiveRequest) (receiveMessageOutput, time.Duration, chan struct{}, *apiError) {
	q, now, err := s.queueLocked(req.queueURL)
	if err != nil {
		return receiveMessageOutput{}, 0, nil, err
	}
	visibility, wait := q.config.visibility, q.config.receiveWait
	if req.visibility != nil {
		visibility = *req.visibility
	}
	if req.wait != nil {
		wait = *req.wait
	}
	dlq := s.deadLetterQueueLocked(q, now)
	movedBefore := 0
	if dlq != nil {
		movedBefore = len(dlq.messages)
	}
	delivered := q.receive(now, req.maxMessages, visibility, dlq)
	if dlq != nil && len(dlq.messages) != movedBefore {
		s.wakeLocked()
	}
	var out receiveMessageOutput
	for _, m := range delivered {
		out.Messages = append(out.Messages, m.render(req.system, req.attributes))
	}
	return out, wait, s.wake, nil
}

// waitForWake waits for wake, the recheck interval or the rest of the
// wait, whichever comes first; false when the client gave up or the server
// is closing.
func (s *Server) waitForWake(ctx context.Context, wake chan struct{}, remaining time.Duration) bool {
	s.longPollers.Add(1)
	defer s.longPollers.Add(-1)
	timer := time.NewTimer(min(remaining, time.Duration(s.recheck.Load())))
	defer timer.Stop()
	select {
	case <-wake:
		return true
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// render is a delivered message with the system attributes and message
// attributes the request names.
func (m *message) render(system, attributes []string) receivedMessage {
	out := receivedMessage{MessageID: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5OfBody, Body: m.body}
	all := m.systemAttributes()
	for _, name := range system {
		if name == attrAll {
			out.Attributes = all
			break
		}
		if v, ok := all[name]; ok {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			out.Attributes[name] = v
		}
	}
	for name, v := range m.attributes {
		if attributeWanted(name, attributes) {
			if out.MessageAttributes == nil {
				out.MessageAttributes = map[string]messageAttribute{}
			}
			out.MessageAttributes[name] = v
		}
	}
	out.MD5OfMessageAttributes = md5OfAttributes(out.MessageAttributes)
	return out
}

// systemAttributes are every system attribute that applies to m.
func (m *message) systemAttributes() map[string]string {
	out := map[string]string{
		sysSenderID:           m.senderID,
		sysSentTimestamp:      millis(m.sent),
		sysApproxReceiveCount: strconv.Itoa(m.receiveCount),
		sysApproxFirstReceive: millis(m.firstReceive),
	}
	if m.sequenceNumber != "" {
		out[sysSequenceNumber] = m.sequenceNumber
		out[sysMessageDeduplicationID] = m.deduplicationID
	}
	if m.group != "" {
		out[sysMessageGroupID] = m.group
	}
	if trace, ok := m.system[sysAWSTraceHeader]; ok && trace.StringValue != nil {
		out[sysAWSTraceHeader] = *trace.StringValue
	}
	if m.deadLetterSource != "" {
		out[sysDeadLetterQueueSource] = m.deadLetterSource
	}
	return out
}

// attributeWanted applies MessageAttributeNames: All or .* for every
// attribute, "prefix.*" for a prefix, otherwise exact names.
func attributeWanted(name string, wanted []string) bool {
	return slices.ContainsFunc(wanted, func(w string) bool {
		if w == attrAll || w == ".*" || w == name {
			return true
		}
		prefix, ok := strings.CutSuffix(w, ".*")
		return ok && strings.HasPrefix(name, prefix+".")
	})
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
