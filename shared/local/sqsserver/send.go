package sqsserver

import "regexp"

// The send operations' and every batch's JSON shapes.
type (
	sendMessageInput struct {
		QueueURL string `json:"QueueUrl"`
		sendEntry
	}
	sendMessageBatchInput struct {
		QueueURL string      `json:"QueueUrl"`
		Entries  []sendEntry `json:"Entries"`
	}
	sendBatchResultEntry struct {
		ID string `json:"Id"`
		sendResult
	}
	sendMessageBatchOutput struct {
		Successful []sendBatchResultEntry `json:"Successful"`
		Failed     []batchResultError     `json:"Failed"`
	}
	// batchResultError is a failed entry of a batch.
	batchResultError struct {
		ID          string `json:"Id"`
		SenderFault bool   `json:"SenderFault"`
		Code        string `json:"Code"`
		Message     string `json:"Message"`
	}
)

func failedEntry(id string, err *apiError) batchResultError {
	return batchResultError{ID: id, SenderFault: true, Code: err.batchCode(), Message: err.message}
}

func (s *Server) handleSendMessage(c *call) (any, *apiError) {
	var in sendMessageInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if err := q.checkSend(&in.sendEntry); err != nil {
		return nil, err
	}
	result := q.send(&in.sendEntry, c.senderID, now)
	s.wakeLocked()
	return result, nil
}

// handleSendMessageBatch sends each valid entry; an invalid entry fails on
// its own, as on SQS.
func (s *Server) handleSendMessageBatch(c *call) (any, *apiError) {
	var in sendMessageBatchInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	size := 0
	for i, e := range in.Entries {
		ids[i] = e.ID
		if e.MessageBody != nil {
			size += len(*e.MessageBody)
		}
		size += attributesSize(e.MessageAttributes)
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	if size > maxMessageSize {
		return nil, fail(errBatchRequestTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageSize, size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	out := sendMessageBatchOutput{Successful: []sendBatchResultEntry{}, Failed: []batchResultError{}}
	for i := range in.Entries {
		e := &in.Entries[i]
		if err := q.checkSend(e); err != nil {
			out.Failed = append(out.Failed, failedEntry(e.ID, err))
			continue
		}
		out.Successful = append(out.Successful, sendBatchResultEntry{ID: e.ID, sendResult: q.send(e, c.senderID, now)})
	}
	s.wakeLocked()
	return out, nil
}

var batchEntryIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch applies SQS's rules for every batch: 1 to 10 entries with
// distinct ids of up to 80 alphanumeric characters, hyphens and underscores.
func checkBatch(entryName string, ids []string) *apiError {
	switch {
	case len(ids) == 0:
		return fail(errEmptyBatchRequest, "There should be at least one %s in the request.", entryName)
	case len(ids) > maxBatchEntries:
		return fail(errTooManyEntriesInBatch, "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchEntryIDPattern.MatchString(id) {
			return fail(errInvalidBatchEntryID, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "+
				"It can be at most 80 letters long.")
		}
		if seen[id] {
			return fail(errBatchEntryIDsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}
