package sqsserver

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// queue is one queue's configuration and messages. The server's lock
// guards it; every method takes the current time from the caller, so the
// server's clock drives visibility, delays, retention and deduplication.
type queue struct {
	name     string
	url      string
	arn      string
	config   queueConfig
	created  time.Time
	modified time.Time

	// messages are in send order, which for a FIFO queue is sequence order.
	messages []*message
	byID     map[string]*message
	// sent remembers a FIFO queue's deduplication ids for five minutes.
	sent      map[string]sentRecord
	sequence  uint64
	lastPurge time.Time
}

type sentRecord struct {
	messageID      string
	sequenceNumber string
	expires        time.Time
}

// firstSequenceNumber makes sequence numbers look like SQS's: large,
// increasing decimal numbers.
const firstSequenceNumber = 10_000_000_000_000_000_000

func newQueue(name, url, arn string, config queueConfig, now time.Time) *queue {
	return &queue{name: name, url: url, arn: arn, config: config, created: now, modified: now,
		byID: map[string]*message{}, sent: map[string]sentRecord{}, sequence: firstSequenceNumber}
}

// expire drops messages past the retention period, whether or not they are
// in flight, and deduplication ids past their window.
func (q *queue) expire(now time.Time) {
	q.messages = slices.DeleteFunc(q.messages, func(m *message) bool {
		if now.Before(m.enqueued.Add(q.config.retention)) {
			return false
		}
		delete(q.byID, m.id)
		return true
	})
	maps.DeleteFunc(q.sent, func(_ string, r sentRecord) bool { return !now.Before(r.expires) })
}

// counts returns the messages available, in flight and delayed.
func (q *queue) counts(now time.Time) (visible, inFlight, delayed int) {
	for _, m := range q.messages {
		switch {
		case m.inFlight(now):
			inFlight++
		case m.delayed(now):
			delayed++
		default:
			visible++
		}
	}
	return visible, inFlight, delayed
}

// sendResult is what SendMessage answers, and a successful batch entry.
type sendResult struct {
	MessageID                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

// send enqueues a checked entry. A FIFO send whose deduplication id was
// seen within five minutes is accepted without enqueuing anything and
// answers with the earlier message's id and sequence number.
func (q *queue) send(e *sendEntry, senderID string, now time.Time) sendResult {
	body := *e.MessageBody
	m := &message{id: newMessageID(), body: body, md5OfBody: md5Hex(body),
		attributes: e.MessageAttributes, md5OfAttributes: md5OfAttributes(e.MessageAttributes),
		system: e.MessageSystemAttributes, md5OfSystem: md5OfAttributes(e.MessageSystemAttributes),
		senderID: senderID, sent: now, enqueued: now, visibleAt: now.Add(q.config.delay)}
	result := sendResult{MD5OfMessageBody: m.md5OfBody, MD5OfMessageAttributes: m.md5OfAttributes, MD5OfMessageSystemAttributes: m.md5OfSystem}
	if e.MessageGroupID != nil {
		m.group = *e.MessageGroupID
	}
	if !q.config.fifo {
		if e.DelaySeconds != nil {
			m.visibleAt = now.Add(time.Duration(*e.DelaySeconds) * time.Second)
		}
		q.enqueue(m)
		result.MessageID = m.id
		return result
	}
	m.deduplicationID = contentDeduplicationID(body)
	if e.MessageDeduplicationID != nil {
		m.deduplicationID = *e.MessageDeduplicationID
	}
	if earlier, ok := q.sent[m.deduplicationID]; ok {
		result.MessageID, result.SequenceNumber = earlier.messageID, earlier.sequenceNumber
		return result
	}
	m.sequenceNumber = q.nextSequenceNumber()
	q.sent[m.deduplicationID] = sentRecord{messageID: m.id, sequenceNumber: m.sequenceNumber, expires: now.Add(deduplicationWindow)}
	q.enqueue(m)
	result.MessageID, result.SequenceNumber = m.id, m.sequenceNumber
	return result
}

func (q *queue) nextSequenceNumber() string {
	q.sequence++
	return strconv.FormatUint(q.sequence, 10)
}

func (q *queue) enqueue(m *message) {
	q.messages = append(q.messages, m)
	q.byID[m.id] = m
}

func (q *queue) remove(m *message) {
	q.messages = slices.DeleteFunc(q.messages, func(other *message) bool { return other == m })
	delete(q.byID, m.id)
}

// receive delivers up to max available messages and hides them for the
// visibility timeout. dlq is the queue's dead-letter queue, nil without a
// redrive policy.
func (q *queue) receive(now time.Time, maxMessages int, visibility time.Duration, dlq *queue) []*message {
	if q.config.fifo {
		return q.receiveFIFO(now, maxMessages, visibility, dlq)
	}
	var out []*message
	for _, m := range slices.Clone(q.messages) {
		if len(out) == maxMessages {
			break
		}
		if !m.visible(now) {
			continue
		}
		if q.redriveDue(m, dlq) {
			q.moveToDeadLetterQueue(m, dlq, now)
			continue
		}
		q.deliver(m, now, visibility)
		out = append(out, m)
	}
	return out
}

// receiveFIFO delivers messages of a FIFO queue: within a message group
// strictly in order, and nothing of a group that has a message in flight.
// Like SQS it returns as many messages of one group as it can before it
// turns to the next group, taking groups in the order of their oldest
// message.
func (q *queue) receiveFIFO(now time.Time, maxMessages int, visibility time.Duration, dlq *queue) []*message {
	blocked := map[string]bool{}
	for _, m := range q.messages {
		if m.inFlight(now) {
			blocked[m.group] = true
		}
	}
	var groups []string
	byGroup := map[string][]*message{}
	for _, m := range q.messages {
		if blocked[m.group] {
			continue
		}
		if _, seen := byGroup[m.group]; !seen {
			groups = append(groups, m.group)
		}
		byGroup[m.group] = append(byGroup[m.group], m)
	}
	var out []*message
	for _, group := range groups {
		for _, m := range byGroup[group] {
			if len(out) == maxMessages || !m.visible(now) {
				break // a delayed message holds back the rest of its group
			}
			if q.redriveDue(m, dlq) {
				q.moveToDeadLetterQueue(m, dlq, now)
				continue
			}
			q.deliver(m, now, visibility)
			out = append(out, m)
		}
	}
	return out
}

func (q *queue) deliver(m *message, now time.Time, visibility time.Duration) {
	m.receiveCount++
	if m.firstReceive.IsZero() {
		m.firstReceive = now
	}
	m.received = now
	m.visibleAt = now.Add(visibility)
	m.receipt = newReceiptHandle(q.name, m.id)
}

// redriveDue mirrors SQS's rule: "When the ReceiveCount for a message
// exceeds the maxReceiveCount for a queue, Amazon SQS moves the message to
// the dead-letter-queue." A message received maxReceiveCount times is moved
// by the receive that would deliver it once more.
func (q *queue) redriveDue(m *message, dlq *queue) bool {
	return dlq != nil && q.config.redrive != nil && m.receiveCount >= q.config.redrive.maxReceiveCount
}

// moveToDeadLetterQueue moves m to dlq, available at once. It keeps its id,
// body, attributes, receive count and (for FIFO) group and deduplication
// id, and records the source queue. Its retention keeps counting from the
// original send on a standard queue and starts again on a FIFO queue, as
// SQS documents; a FIFO dead-letter queue gives it a sequence number of its
// own.
func (q *queue) moveToDeadLetterQueue(m *message, dlq *queue, now time.Time) {
	q.remove(m)
	moved := *m
	moved.receipt = ""
	moved.visibleAt = now
	moved.deadLetterSource = q.arn
	if dlq.config.fifo {
		moved.enqueued = now
		moved.sequenceNumber = dlq.nextSequenceNumber()
	}
	dlq.enqueue(&moved)
}

// Receipt handles name the queue, the message and one receive of it.
func newReceiptHandle(queueName, messageID string) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	return base64.RawURLEncoding.EncodeToString([]byte(queueName + "\n" + messageID + "\n" + hex.EncodeToString(nonce[:])))
}

// lookupReceipt finds the message a receipt handle names: an error for a
// handle that is not one of this queue's, a nil message for one whose
// message is gone (deleted, moved, expired or purged).
func (q *queue) lookupReceipt(handle string) (*message, *apiError) {
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	parts := strings.Split(string(raw), "\n")
	if err != nil || len(parts) != 3 || parts[0] != q.name {
		return nil, fail(errReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", handle)
	}
	return q.byID[parts[1]], nil
}

// deleteMessage deletes the message a receipt handle names. Deleting a
// message that is already gone succeeds, as on SQS. For a handle that is
// no longer the latest (the message was received again since) SQS says
// "the request will succeed, but the message might not be deleted": on a
// standard queue the stand-in takes the strict reading and keeps the
// message. A FIFO queue rejects an expired handle — one received again
// since, or whose visibility timeout has passed — as SQS does.
func (q *queue) deleteMessage(handle string, now time.Time) *apiError {
	m, err := q.lookupReceipt(handle)
	if err != nil || m == nil {
		return err
	}
	current := handle == m.receipt
	if q.config.fifo && (!current || !m.inFlight(now)) {
		return fail(errReceiptHandleIsInvalid, "The receipt handle has expired.")
	}
	if current {
		q.remove(m)
	}
	return nil
}

// changeVisibility sets the visibility timeout of a message in flight,
// counted from now; SQS caps a message's visibility at 12 hours from the
// receive.
func (q *queue) changeVisibility(handle string, timeout int, now time.Time) *apiError {
	if !secondsWithin(timeout, 0, maxVisibility) {
		return invalidValue(attrVisibilityTimeout, timeout, "VisibilityTimeout must be >= 0 and <= 43200.")
	}
	m, err := q.lookupReceipt(handle)
	switch {
	case err != nil:
		return err
	case m == nil:
		return invalidValue(paramReceiptHandle, handle, "Message does not exist or is not available for visibility timeout change.")
	case handle != m.receipt:
		return fail(errReceiptHandleIsInvalid, "The receipt handle has expired.")
	case !m.inFlight(now):
		return fail(errMessageNotInflight, "The message referred to isn't in flight.")
	}
	until := now.Add(time.Duration(timeout) * time.Second)
	if until.After(m.received.Add(maxVisibility)) {
		return invalidValue(attrVisibilityTimeout, timeout, "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
	}
	m.visibleAt = until
	return nil
}

// purge deletes every message; SQS allows one purge a minute.
func (q *queue) purge(now time.Time) *apiError {
	if !q.lastPurge.IsZero() && now.Before(q.lastPurge.Add(purgeInterval)) {
		return fail(errPurgeQueueInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
	}
	q.lastPurge = now
	q.messages = nil
	clear(q.byID)
	return nil
}
