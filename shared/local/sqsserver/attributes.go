package sqsserver

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Queue attribute names, as SQS spells them.
const (
	attrAll                    = "All"
	attrVisibilityTimeout      = "VisibilityTimeout"
	attrRetentionPeriod        = "MessageRetentionPeriod"
	attrDelaySeconds           = "DelaySeconds"
	attrReceiveWaitTime        = "ReceiveMessageWaitTimeSeconds"
	attrMaximumMessageSize     = "MaximumMessageSize"
	attrRedrivePolicy          = "RedrivePolicy"
	attrFifoQueue              = "FifoQueue"
	attrContentBasedDedup      = "ContentBasedDeduplication"
	attrQueueArn               = "QueueArn"
	attrCreatedTimestamp       = "CreatedTimestamp"
	attrLastModifiedTimestamp  = "LastModifiedTimestamp"
	attrApproxMessages         = "ApproximateNumberOfMessages"
	attrApproxMessagesInFlight = "ApproximateNumberOfMessagesNotVisible"
	attrApproxMessagesDelayed  = "ApproximateNumberOfMessagesDelayed"
)

// SQS's limits and defaults.
const (
	maxVisibility        = 12 * time.Hour
	defaultVisibility    = 30 * time.Second
	defaultRetention     = 4 * 24 * time.Hour
	deduplicationWindow  = 5 * time.Minute
	maxMessageSize       = 256 << 10
	maxDelay             = 15 * time.Minute
	maxLongPoll          = 20 * time.Second
	defaultMaxReceives   = 10
	maxMaxReceiveCount   = 1000
	purgeInterval        = 60 * time.Second
	maxBatchEntries      = 10
	maxReceiveBatch      = 10
	maxIdentifierLength  = 128
	maxQueueNameLength   = 80
	maxMessageAttributes = 10
)

// keptAttributes are attributes SQS accepts that the stand-in stores and
// returns but does not act on (encryption, access policy, FIFO throughput).
var keptAttributes = []string{
	"Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
	"DeduplicationScope", "FifoThroughputLimit", "RedriveAllowPolicy",
}

// queueConfig is a queue's settable attributes.
type queueConfig struct {
	fifo           bool
	contentDedup   bool
	visibility     time.Duration
	retention      time.Duration
	delay          time.Duration
	receiveWait    time.Duration
	maxMessageSize int
	redrive        *redrivePolicy
	kept           map[string]string
}

// redrivePolicy sends a message to the dead-letter queue once it has been
// received maxReceiveCount times.
type redrivePolicy struct {
	deadLetterTargetArn string
	maxReceiveCount     int
}

func defaultConfig() queueConfig {
	return queueConfig{visibility: defaultVisibility, retention: defaultRetention, maxMessageSize: maxMessageSize, kept: map[string]string{}}
}

// attributeSetter applies one attribute's value to a configuration.
type attributeSetter func(c *queueConfig, name, value string) *apiError

var setters = map[string]attributeSetter{
	attrVisibilityTimeout:  secondsIn(0, maxVisibility, func(c *queueConfig, d time.Duration) { c.visibility = d }),
	attrRetentionPeriod:    secondsIn(time.Minute, 14*24*time.Hour, func(c *queueConfig, d time.Duration) { c.retention = d }),
	attrDelaySeconds:       secondsIn(0, maxDelay, func(c *queueConfig, d time.Duration) { c.delay = d }),
	attrReceiveWaitTime:    secondsIn(0, maxLongPoll, func(c *queueConfig, d time.Duration) { c.receiveWait = d }),
	attrMaximumMessageSize: setMaximumMessageSize,
	attrRedrivePolicy:      setRedrivePolicy,
	attrFifoQueue:          boolean(func(c *queueConfig, b bool) { c.fifo = b }),
	attrContentBasedDedup:  boolean(func(c *queueConfig, b bool) { c.contentDedup = b }),
}

func secondsIn(lo, hi time.Duration, set func(*queueConfig, time.Duration)) attributeSetter {
	return func(c *queueConfig, name, value string) *apiError {
		n, err := strconv.Atoi(value)
		if err != nil || !secondsWithin(n, lo, hi) {
			return invalidAttribute(name)
		}
		set(c, time.Duration(n)*time.Second)
		return nil
	}
}

// secondsWithin reports whether n seconds lie within [lo, hi], comparing in
// seconds so that no value overflows a Duration.
func secondsWithin(n int, lo, hi time.Duration) bool {
	return n >= int(lo/time.Second) && n <= int(hi/time.Second)
}

func boolean(set func(*queueConfig, bool)) attributeSetter {
	return func(c *queueConfig, name, value string) *apiError {
		b, err := strconv.ParseBool(value)
		if err != nil || value != strconv.FormatBool(b) {
			return invalidAttribute(name)
		}
		set(c, b)
		return nil
	}
}

func setMaximumMessageSize(c *queueConfig, name, value string) *apiError {
	n, err := strconv.Atoi(value)
	if err != nil || n < 1024 || n > maxMessageSize {
		return invalidAttribute(name)
	}
	c.maxMessageSize = n
	return nil
}

// setRedrivePolicy parses {"deadLetterTargetArn": "...", "maxReceiveCount": 5};
// SQS accepts the count as a number or a string. An empty value removes the
// policy. Whether the target exists is checked by the server.
func setRedrivePolicy(c *queueConfig, name, value string) *apiError {
	if value == "" {
		c.redrive = nil
		return nil
	}
	var raw struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil || raw.DeadLetterTargetArn == "" {
		return fail(errInvalidAttributeValue, "Value %s for parameter %s is invalid. Reason: Redrive policy is not a valid JSON map.",
			value, name)
	}
	count := defaultMaxReceives
	if len(raw.MaxReceiveCount) > 0 {
		n, err := strconv.Atoi(strings.Trim(string(raw.MaxReceiveCount), `"`))
		if err != nil || n < 1 || n > maxMaxReceiveCount {
			return fail(errInvalidAttributeValue,
				"Value %s for parameter %s is invalid. Reason: Invalid value for maxReceiveCount: %s, valid values are from 1 to 1000 both inclusive.",
				value, name, raw.MaxReceiveCount)
		}
		count = n
	}
	c.redrive = &redrivePolicy{deadLetterTargetArn: raw.DeadLetterTargetArn, maxReceiveCount: count}
	return nil
}

func invalidAttribute(name string) *apiError {
	return fail(errInvalidAttributeValue, "Invalid value for the parameter %s.", name)
}

func unknownAttribute(name string) *apiError {
	return fail(errInvalidAttributeName, "Unknown Attribute %s.", name)
}

// apply sets the given attributes on a copy of c.
func (c queueConfig) apply(attrs map[string]string) (queueConfig, *apiError) {
	c.kept = maps.Clone(c.kept)
	if c.kept == nil {
		c.kept = map[string]string{}
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		value := attrs[name]
		if set, ok := setters[name]; ok {
			if err := set(&c, name, value); err != nil {
				return c, err
			}
			continue
		}
		if !slices.Contains(keptAttributes, name) {
			return c, unknownAttribute(name)
		}
		c.kept[name] = value
	}
	if !c.fifo && c.contentDedup {
		return c, unknownAttribute(attrContentBasedDedup)
	}
	return c, nil
}

// rendered is the configuration as GetQueueAttributes spells it.
func (c queueConfig) rendered() map[string]string {
	out := maps.Clone(c.kept)
	if out == nil {
		out = map[string]string{}
	}
	out[attrVisibilityTimeout] = seconds(c.visibility)
	out[attrRetentionPeriod] = seconds(c.retention)
	out[attrDelaySeconds] = seconds(c.delay)
	out[attrReceiveWaitTime] = seconds(c.receiveWait)
	out[attrMaximumMessageSize] = strconv.Itoa(c.maxMessageSize)
	if c.redrive != nil {
		out[attrRedrivePolicy] = c.redrive.String()
	}
	if c.fifo {
		out[attrFifoQueue] = strconv.FormatBool(c.fifo)
		out[attrContentBasedDedup] = strconv.FormatBool(c.contentDedup)
	}
	return out
}

// String is the policy as SQS returns it.
func (p *redrivePolicy) String() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{p.deadLetterTargetArn, p.maxReceiveCount})
	return strings.TrimSpace(b.String())
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checkQueueName applies SQS's naming rule: up to 80 alphanumeric characters,
// hyphens and underscores, and a FIFO queue's name ends in .fifo.
func checkQueueName(name string, fifo bool) *apiError {
	base, isFifoName := strings.CutSuffix(name, ".fifo")
	switch {
	case fifo && (!isFifoName || len(name) > maxQueueNameLength || !queueNamePattern.MatchString(base)):
		return fail(errInvalidParameterValue, "The name of a FIFO queue can only include alphanumeric characters, hyphens, "+
			"or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	case !fifo && (len(name) > maxQueueNameLength || !queueNamePattern.MatchString(name)):
		return fail(errInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	return nil
}
