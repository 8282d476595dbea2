package sqsserver

import (
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The queue operations' JSON shapes.
type (
	createQueueInput struct {
		QueueName  string            `json:"QueueName"`
		Attributes map[string]string `json:"Attributes"`
		Tags       map[string]string `json:"tags"`
	}
	queueURLOutput struct {
		QueueURL string `json:"QueueUrl"`
	}
	getQueueURLInput struct {
		QueueName string `json:"QueueName"`
	}
	queueInput struct {
		QueueURL string `json:"QueueUrl"`
	}
	getQueueAttributesInput struct {
		QueueURL       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	queueAttributesOutput struct {
		Attributes map[string]string `json:"Attributes,omitempty"`
	}
	setQueueAttributesInput struct {
		QueueURL   string            `json:"QueueUrl"`
		Attributes map[string]string `json:"Attributes"`
	}
	listQueuesInput struct {
		QueueNamePrefix string `json:"QueueNamePrefix"`
		MaxResults      *int   `json:"MaxResults"`
		NextToken       string `json:"NextToken"`
	}
	listQueuesOutput struct {
		QueueURLs []string `json:"QueueUrls,omitempty"`
		NextToken string   `json:"NextToken,omitempty"`
	}
)

// queueAttributeNames are the names GetQueueAttributes accepts; those that
// do not apply to a queue (ContentBasedDeduplication of a standard queue)
// are left out of its answer.
var queueAttributeNames = append([]string{
	attrAll, attrVisibilityTimeout, attrRetentionPeriod, attrDelaySeconds, attrReceiveWaitTime, attrMaximumMessageSize,
	attrRedrivePolicy, attrFifoQueue, attrContentBasedDedup, attrQueueArn, attrCreatedTimestamp, attrLastModifiedTimestamp,
	attrApproxMessages, attrApproxMessagesInFlight, attrApproxMessagesDelayed,
}, keptAttributes...)

const maxListedQueues = 1000

func (s *Server) handleCreateQueue(c *call) (any, *apiError) {
	var in createQueueInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, missing("QueueName")
	}
	config, err := defaultConfig().apply(in.Attributes)
	if err != nil {
		return nil, err
	}
	if err := checkQueueName(in.QueueName, config.fifo); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkRedriveLocked(in.QueueName, config); err != nil {
		return nil, err
	}
	if q := s.queues[in.QueueName]; q != nil {
		want, have := config.rendered(), q.config.rendered()
		for _, name := range slices.Sorted(maps.Keys(in.Attributes)) {
			if want[name] != have[name] {
				return nil, fail(errQueueNameExists, "A queue already exists with the same name and a different value for attribute %s", name)
			}
		}
		return queueURLOutput{QueueURL: q.url}, nil
	}
	q := newQueue(in.QueueName, s.queueURL(in.QueueName), s.queueARN(in.QueueName), config, s.clock())
	s.queues[q.name] = q
	return queueURLOutput{QueueURL: q.url}, nil
}

// checkRedriveLocked requires a redrive policy's target to be an existing
// queue of the same type, as SQS does.
func (s *Server) checkRedriveLocked(name string, config queueConfig) *apiError {
	if config.redrive == nil {
		return nil
	}
	arn := config.redrive.deadLetterTargetArn
	target := queueNameOf(arn)
	dlq := s.queues[target]
	if dlq == nil || target == name || arn != s.queueARN(target) {
		return invalidValue(attrRedrivePolicy, config.redrive, "Dead letter target does not exist.")
	}
	if dlq.config.fifo != config.fifo {
		return invalidValue(attrRedrivePolicy, config.redrive, "Dead-letter queue must be same type of queue as the source.")
	}
	return nil
}

func (s *Server) handleGetQueueURL(c *call) (any, *apiError) {
	var in getQueueURLInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[in.QueueName]
	if q == nil {
		return nil, queueDoesNotExist()
	}
	return queueURLOutput{QueueURL: q.url}, nil
}

func (s *Server) handleGetQueueAttributes(c *call) (any, *apiError) {
	var in getQueueAttributesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	all := q.attributes(now)
	out := map[string]string{}
	for _, name := range in.AttributeNames {
		switch {
		case name == attrAll:
			maps.Copy(out, all)
		case !slices.Contains(queueAttributeNames, name):
			return nil, unknownAttribute(name)
		case all[name] != "":
			out[name] = all[name]
		}
	}
	return queueAttributesOutput{Attributes: out}, nil
}

// attributes are all of a queue's attributes, as GetQueueAttributes
// answers them.
func (q *queue) attributes(now time.Time) map[string]string {
	out := q.config.rendered()
	visible, inFlight, delayed := q.counts(now)
	out[attrQueueArn] = q.arn
	out[attrApproxMessages] = strconv.Itoa(visible)
	out[attrApproxMessagesInFlight] = strconv.Itoa(inFlight)
	out[attrApproxMessagesDelayed] = strconv.Itoa(delayed)
	out[attrCreatedTimestamp] = strconv.FormatInt(q.created.Unix(), 10)
	out[attrLastModifiedTimestamp] = strconv.FormatInt(q.modified.Unix(), 10)
	return out
}

func (s *Server) handleSetQueueAttributes(c *call) (any, *apiError) {
	var in setQueueAttributesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if v, ok := in.Attributes[attrFifoQueue]; ok && v != strconv.FormatBool(q.config.fifo) {
		return nil, fail(errInvalidAttributeValue, "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
	}
	config, err := q.config.apply(in.Attributes)
	if err != nil {
		return nil, err
	}
	if err := s.checkRedriveLocked(q.name, config); err != nil {
		return nil, err
	}
	q.config, q.modified = config, now
	s.wakeLocked()
	return nil, nil
}

func (s *Server) handleListQueues(c *call) (any, *apiError) {
	var in listQueuesInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	limit := maxListedQueues
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxListedQueues {
			return nil, invalidValue("MaxResults", *in.MaxResults, "MaxResults must be an integer between 1 and 1000.")
		}
		limit = *in.MaxResults
	}
	after, decodeErr := base64.RawURLEncoding.DecodeString(in.NextToken)
	if decodeErr != nil {
		return nil, invalidValue("NextToken", in.NextToken, "Invalid NextToken value.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out listQueuesOutput
	for _, name := range slices.Sorted(maps.Keys(s.queues)) {
		if !strings.HasPrefix(name, in.QueueNamePrefix) || name <= string(after) {
			continue
		}
		if len(out.QueueURLs) == limit {
			if in.MaxResults != nil {
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(queueNameOf(out.QueueURLs[limit-1])))
			}
			break
		}
		out.QueueURLs = append(out.QueueURLs, s.queues[name].url)
	}
	return out, nil
}

func (s *Server) handleDeleteQueue(c *call) (any, *apiError) {
	var in queueInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, _, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	s.wakeLocked()
	return nil, nil
}

func (s *Server) handlePurgeQueue(c *call) (any, *apiError) {
	var in queueInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	return nil, q.purge(now)
}
