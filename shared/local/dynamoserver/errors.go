package dynamoserver

import (
	"encoding/json"
	"net/http"
	"strings"
)

// DynamoDB's error types, as its JSON protocol names them in __type.
const (
	typeValidation          = "com.amazon.coral.validate#ValidationException"
	typeTransactionCanceled = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
	typeTransactionConflict = "com.amazonaws.dynamodb.v20120810#TransactionConflictException"
)

// Cancellation reason codes and the messages DynamoDB gives with them.
const (
	reasonNone            = "None"
	reasonConflict        = "TransactionConflict"
	reasonValidationError = "ValidationError"
	msgTransactionOngoing = "Transaction is ongoing for the item"
)

// cancellationReason is one action's outcome in a cancelled transaction.
type cancellationReason struct {
	Code    string          `json:"Code"`
	Message string          `json:"Message,omitempty"`
	Item    json.RawMessage `json:"Item,omitempty"`
}

// apiError is an error answered the way DynamoDB answers it.
type apiError struct {
	status  int
	typ     string
	message string
	reasons []cancellationReason
}

func validation(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typeValidation, message: msg}
}

// transactionConflict refuses a single-item write on an item that an
// in-flight transaction holds.
func transactionConflict() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typeTransactionConflict, message: msgTransactionOngoing}
}

// cancelled cancels a transaction with one reason per action, in order;
// the message lists every code as DynamoDB's does.
func cancelled(reasons []cancellationReason) *apiError {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	return &apiError{
		status:  http.StatusBadRequest,
		typ:     typeTransactionCanceled,
		message: "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		reasons: reasons,
	}
}

// cancelledAt cancels a transaction of n actions because of action i.
func cancelledAt(n, i int, reason cancellationReason) *apiError {
	reasons := noneReasons(n)
	reasons[i] = reason
	return cancelled(reasons)
}

func noneReasons(n int) []cancellationReason {
	reasons := make([]cancellationReason, n)
	for i := range reasons {
		reasons[i] = cancellationReason{Code: reasonNone}
	}
	return reasons
}

func (e *apiError) reply() reply {
	body := map[string]any{"__type": e.typ, "message": e.message}
	if e.typ == typeTransactionCanceled {
		// TransactionCanceledException's member is "Message"; every other
		// error's is "message".
		body = map[string]any{"__type": e.typ, "Message": e.message, "CancellationReasons": e.reasons}
	}
	raw, _ := json.Marshal(body)
	return reply{status: e.status, body: raw}
}

// errorBody is the part of an error answer the layer reads back.
type errorBody struct {
	Type                string               `json:"__type"`
	Message             string               `json:"message"`
	CancellationReasons []cancellationReason `json:"CancellationReasons"`
}

// fixCancellation rewrites minidyn's TransactionCanceledException so its
// message lists every action's code as DynamoDB's does (minidyn lists only
// the failing one); any other answer is returned as it is.
func fixCancellation(r reply) reply {
	var e errorBody
	if r.ok() || json.Unmarshal(r.body, &e) != nil || !strings.HasSuffix(e.Type, "TransactionCanceledException") {
		return r
	}
	return cancelled(e.CancellationReasons).reply()
}
