package sqsserver

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// messageAttribute is a message attribute in SQS's JSON; binary values
// travel base64-encoded, as encoding/json does for []byte.
type messageAttribute struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

// sendEntry is one message to send: SendMessage's parameters, and an entry
// of SendMessageBatch (which adds its Id).
type sendEntry struct {
	ID                      string                      `json:"Id"`
	MessageBody             *string                     `json:"MessageBody"`
	DelaySeconds            *int                        `json:"DelaySeconds"`
	MessageAttributes       map[string]messageAttribute `json:"MessageAttributes"`
	MessageSystemAttributes map[string]messageAttribute `json:"MessageSystemAttributes"`
	MessageDeduplicationID  *string                     `json:"MessageDeduplicationId"`
	MessageGroupID          *string                     `json:"MessageGroupId"`
}

// message is one message in a queue.
type message struct {
	id               string
	body             string
	md5OfBody        string
	attributes       map[string]messageAttribute
	md5OfAttributes  string
	system           map[string]messageAttribute // AWSTraceHeader, the one system attribute a sender sets
	md5OfSystem      string
	senderID         string
	sent             time.Time // SentTimestamp
	enqueued         time.Time // the start of its retention period
	group            string
	deduplicationID  string
	sequenceNumber   string
	deadLetterSource string // the ARN of the queue that moved it here

	// visibleAt hides the message until then: its delay before the first
	// receive, its visibility timeout after a receive.
	visibleAt    time.Time
	receiveCount int
	firstReceive time.Time
	received     time.Time // the latest receive, which bounds its visibility to 12 hours
	receipt      string    // the latest receipt handle; empty before the first receive
}

func (m *message) visible(now time.Time) bool  { return !now.Before(m.visibleAt) }
func (m *message) inFlight(now time.Time) bool { return m.receiveCount > 0 && !m.visible(now) }
func (m *message) delayed(now time.Time) bool  { return m.receiveCount == 0 && !m.visible(now) }

// notForThisQueueType is SQS's reason for a parameter the queue's type does
// not take.
const notForThisQueueType = "The request include parameter that is not valid for this queue type."

// checkSend validates a message for queue q as SQS does.
func (q *queue) checkSend(e *sendEntry) *apiError {
	if e.MessageBody == nil || *e.MessageBody == "" {
		return missing("MessageBody")
	}
	if err := checkBody(*e.MessageBody); err != nil {
		return err
	}
	if err := checkMessageAttributes(e.MessageAttributes); err != nil {
		return err
	}
	if err := checkSystemAttributes(e.MessageSystemAttributes); err != nil {
		return err
	}
	if size := len(*e.MessageBody) + attributesSize(e.MessageAttributes); size > q.config.maxMessageSize {
		return fail(errInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.",
			q.config.maxMessageSize)
	}
	if q.config.fifo {
		return q.checkFIFOSend(e)
	}
	if e.MessageDeduplicationID != nil {
		return invalidValue(sysMessageDeduplicationID, *e.MessageDeduplicationID, notForThisQueueType)
	}
	if e.MessageGroupID != nil {
		if err := checkIdentifier(sysMessageGroupID, *e.MessageGroupID); err != nil {
			return err
		}
	}
	if e.DelaySeconds != nil && !secondsWithin(*e.DelaySeconds, 0, maxDelay) {
		return invalidValue(attrDelaySeconds, *e.DelaySeconds, "DelaySeconds must be >= 0 and <= 900.")
	}
	return nil
}

func (q *queue) checkFIFOSend(e *sendEntry) *apiError {
	if e.DelaySeconds != nil && *e.DelaySeconds != 0 {
		return invalidValue(attrDelaySeconds, *e.DelaySeconds, notForThisQueueType)
	}
	if e.MessageGroupID == nil || *e.MessageGroupID == "" {
		return missing(sysMessageGroupID)
	}
	if err := checkIdentifier(sysMessageGroupID, *e.MessageGroupID); err != nil {
		return err
	}
	if e.MessageDeduplicationID == nil {
		if !q.config.contentDedup {
			return fail(errInvalidParameterValue,
				"The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		return nil
	}
	return checkIdentifier(sysMessageDeduplicationID, *e.MessageDeduplicationID)
}

var identifierPattern = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]+$")

// checkIdentifier applies the rule for a message group or deduplication id:
// 1 to 128 alphanumeric and punctuation characters.
func checkIdentifier(parameter, value string) *apiError {
	if len(value) > maxIdentifierLength || !identifierPattern.MatchString(value) {
		return invalidValue(parameter, value, parameter+" can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	return nil
}

// checkBody rejects characters outside the set SQS allows in a body.
func checkBody(body string) *apiError {
	for _, r := range body {
		allowed := r == 0x9 || r == 0xA || r == 0xD ||
			(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !allowed {
			return fail(errInvalidMessageContents, "Invalid binary character '#x%X' was found in the message body, the set of allowed "+
				"characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return nil
}

var attributeNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

func checkMessageAttributes(attrs map[string]messageAttribute) *apiError {
	if len(attrs) > maxMessageAttributes {
		return fail(errInvalidParameterValue, "Number of message attributes [%d] exceeds the allowed maximum [%d].",
			len(attrs), maxMessageAttributes)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		lower := strings.ToLower(name)
		if !attributeNamePattern.MatchString(name) || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
			strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return fail(errInvalidParameterValue, "Message (user) attribute name '%s' is invalid.", name)
		}
		if err := checkAttributeValue("Message (user)", name, attrs[name]); err != nil {
			return err
		}
	}
	return nil
}

func checkSystemAttributes(attrs map[string]messageAttribute) *apiError {
	for name, value := range attrs {
		if name != "AWSTraceHeader" {
			return fail(errInvalidParameterValue, "Message system attribute name '%s' is invalid.", name)
		}
		if err := checkAttributeValue("Message system", name, value); err != nil {
			return err
		}
	}
	return nil
}

func checkAttributeValue(kind, name string, v messageAttribute) *apiError {
	base, _, _ := strings.Cut(v.DataType, ".")
	if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
		return fail(errInvalidParameterValue, "%s attribute '%s': list values are not supported.", kind, name)
	}
	switch base {
	case "String", "Number":
		if v.StringValue == nil || *v.StringValue == "" {
			return fail(errInvalidParameterValue, "%s attribute '%s' must contain a non-empty value of type '%s'.", kind, name, base)
		}
		if _, err := strconv.ParseFloat(*v.StringValue, 64); base == "Number" && err != nil {
			return fail(errInvalidParameterValue, "Can't cast the value of message (user) attribute '%s' to a number.", name)
		}
	case "Binary":
		if len(v.BinaryValue) == 0 {
			return fail(errInvalidParameterValue, "%s attribute '%s' must contain a non-empty value of type 'Binary'.", kind, name)
		}
	default:
		return fail(errInvalidParameterValue, "The type of %s attribute '%s' is invalid. "+
			"You must use only the following supported type prefixes: Binary, Number, String.", strings.ToLower(kind), name)
	}
	return nil
}

// attributesSize counts attributes toward the message size as SQS does:
// each name, type and value.
func attributesSize(attrs map[string]messageAttribute) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(v.DataType) + len(v.BinaryValue)
		if v.StringValue != nil {
			n += len(*v.StringValue)
		}
	}
	return n
}

// md5OfAttributes is SQS's checksum of message attributes: over the names in
// order, each name, type and value length-prefixed, with a transport byte
// (1 for String and Number, 2 for Binary) before the value. Empty for none.
func md5OfAttributes(attrs map[string]messageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b)))) // sizes are bounded far below 4 GiB
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		field([]byte(name))
		field([]byte(v.DataType))
		if v.StringValue != nil {
			h.Write([]byte{1})
			field([]byte(*v.StringValue))
		} else {
			h.Write([]byte{2})
			field(v.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// md5Hex is SQS's checksum of a body (MD5OfBody): a checksum, not a
// security measure.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// contentDeduplicationID is the id SQS derives from a body when a FIFO queue
// has ContentBasedDeduplication: the SHA-256 of the body.
func contentDeduplicationID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// newMessageID returns a random UUID, the form of SQS's message ids.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
