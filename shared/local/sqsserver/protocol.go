package sqsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// SQS's JSON protocol: AWS JSON 1.0, the operation named in X-Amz-Target.
const (
	targetPrefix    = "AmazonSQS."
	contentType     = "application/x-amz-json-1.0"
	maxRequestBytes = 4 << 20
)

// call is one request: its context, its JSON body and who signed it.
type call struct {
	ctx      context.Context
	body     []byte
	senderID string
}

// decode reads the request's JSON into in.
func (c *call) decode(in any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(in); err != nil && len(bytes.TrimSpace(c.body)) > 0 {
		return fail(errSerialization, "The request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

// operation serves one SQS operation: it decodes the request and returns
// the answer to encode, or an error answer.
type operation func(c *call) (any, *apiError)

// operations lists every operation the server serves.
func (s *Server) operations() map[string]operation {
	return map[string]operation{
		"CreateQueue":                  s.handleCreateQueue,
		"GetQueueUrl":                  s.handleGetQueueURL,
		"GetQueueAttributes":           s.handleGetQueueAttributes,
		"SetQueueAttributes":           s.handleSetQueueAttributes,
		"ListQueues":                   s.handleListQueues,
		"DeleteQueue":                  s.handleDeleteQueue,
		"PurgeQueue":                   s.handlePurgeQueue,
		"SendMessage":                  s.handleSendMessage,
		"SendMessageBatch":             s.handleSendMessageBatch,
		"ReceiveMessage":               s.handleReceiveMessage,
		"DeleteMessage":                s.handleDeleteMessage,
		"DeleteMessageBatch":           s.handleDeleteMessageBatch,
		"ChangeMessageVisibility":      s.handleChangeMessageVisibility,
		"ChangeMessageVisibilityBatch": s.handleChangeMessageVisibilityBatch,
	}
}

// knownOperations are SQS operations the server does not serve; they answer
// UnsupportedOperation rather than UnknownOperation.
var knownOperations = []string{
	"AddPermission", "RemovePermission", "TagQueue", "UntagQueue", "ListQueueTags", "ListDeadLetterSourceQueues",
	"StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks",
}

var requestSeq atomic.Int64

// serve answers one AWS JSON 1.0 request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, fail(errUnknownOperation, "expected a POST with X-Amz-Target %s<operation>", targetPrefix))
		return
	}
	op := s.ops[name]
	if op == nil {
		if slices.Contains(knownOperations, name) {
			writeError(w, fail(errUnsupportedOperation, "The local SQS server does not implement %s.", name))
			return
		}
		writeError(w, fail(errUnknownOperation, "Unknown operation %s.", name))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		writeError(w, fail(errSerialization, "The request body is unreadable or too large."))
		return
	}
	out, apiErr := op(&call{ctx: r.Context(), body: body, senderID: senderID(r)})
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", requestID())
	if out == nil {
		out = struct{}{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// writeError answers as SQS does on its JSON protocol: the shape in __type,
// the query protocol's code and fault in x-amzn-query-error.
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", requestID())
	if e.kind.query != "" {
		fault := "Sender"
		if e.kind.status >= http.StatusInternalServerError {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", e.kind.query+";"+fault)
	}
	w.WriteHeader(e.kind.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.kind.shape, "message": e.message})
}

func requestID() string { return "sqs-local-" + strconv.FormatInt(requestSeq.Add(1), 10) }

// senderID is the SenderId of messages a request sends: the access key id
// of its signature (SQS gives the IAM user or role id), else the account.
func senderID(r *http.Request) string {
	_, credential, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if key, _, found := strings.Cut(credential, "/"); ok && found && key != "" {
		return key
	}
	return AccountID
}

// queueNameOf is the queue name at the end of a queue URL or ARN.
func queueNameOf(urlOrARN string) string {
	return urlOrARN[strings.LastIndexAny(urlOrARN, "/:")+1:]
}
