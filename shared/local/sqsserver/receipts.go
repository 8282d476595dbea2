package sqsserver

import "time"

// The receipt-handle operations' JSON shapes.
type (
	receiptInput struct {
		QueueURL          string `json:"QueueUrl"`
		ReceiptHandle     string `json:"ReceiptHandle"`
		VisibilityTimeout *int   `json:"VisibilityTimeout"`
	}
	receiptEntry struct {
		ID                string `json:"Id"`
		ReceiptHandle     string `json:"ReceiptHandle"`
		VisibilityTimeout *int   `json:"VisibilityTimeout"`
	}
	receiptBatchInput struct {
		QueueURL string         `json:"QueueUrl"`
		Entries  []receiptEntry `json:"Entries"`
	}
	batchResultEntry struct {
		ID string `json:"Id"`
	}
	receiptBatchOutput struct {
		Successful []batchResultEntry `json:"Successful"`
		Failed     []batchResultError `json:"Failed"`
	}
)

// receiptAction is what DeleteMessage or ChangeMessageVisibility does to
// one entry, with the server locked.
type receiptAction func(q *queue, e receiptEntry, now time.Time) *apiError

func deleteEntry(q *queue, e receiptEntry, now time.Time) *apiError {
	if e.ReceiptHandle == "" {
		return missing(paramReceiptHandle)
	}
	return q.deleteMessage(e.ReceiptHandle, now)
}

func changeVisibilityEntry(q *queue, e receiptEntry, now time.Time) *apiError {
	switch {
	case e.ReceiptHandle == "":
		return missing(paramReceiptHandle)
	case e.VisibilityTimeout == nil:
		return missing(attrVisibilityTimeout)
	}
	return q.changeVisibility(e.ReceiptHandle, *e.VisibilityTimeout, now)
}

func (s *Server) handleDeleteMessage(c *call) (any, *apiError) {
	return s.receiptOperation(c, deleteEntry)
}

func (s *Server) handleChangeMessageVisibility(c *call) (any, *apiError) {
	return s.receiptOperation(c, changeVisibilityEntry)
}

func (s *Server) handleDeleteMessageBatch(c *call) (any, *apiError) {
	return s.receiptBatch(c, "DeleteMessageBatchRequestEntry", deleteEntry)
}

func (s *Server) handleChangeMessageVisibilityBatch(c *call) (any, *apiError) {
	return s.receiptBatch(c, "ChangeMessageVisibilityBatchRequestEntry", changeVisibilityEntry)
}

// receiptOperation applies act to the request's receipt handle. Either
// action may make a message receivable (a FIFO group unblocked, a message
// made visible), so long polls look again.
func (s *Server) receiptOperation(c *call, act receiptAction) (any, *apiError) {
	var in receiptInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if err := act(q, receiptEntry{ReceiptHandle: in.ReceiptHandle, VisibilityTimeout: in.VisibilityTimeout}, now); err != nil {
		return nil, err
	}
	s.wakeLocked()
	return nil, nil
}

// receiptBatch applies act to each entry; an entry that fails does so on
// its own, as on SQS.
func (s *Server) receiptBatch(c *call, entryName string, act receiptAction) (any, *apiError) {
	var in receiptBatchInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.ID
	}
	if err := checkBatch(entryName, ids); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, now, err := s.queueLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	out := receiptBatchOutput{Successful: []batchResultEntry{}, Failed: []batchResultError{}}
	for _, e := range in.Entries {
		if err := act(q, e, now); err != nil {
			out.Failed = append(out.Failed, failedEntry(e.ID, err))
			continue
		}
		out.Successful = append(out.Successful, batchResultEntry{ID: e.ID})
	}
	s.wakeLocked()
	return out, nil
}
