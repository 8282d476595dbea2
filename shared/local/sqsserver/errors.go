package sqsserver

import (
	"fmt"
	"net/http"
	"strings"
)

// errorKind is one of SQS's error answers: the shape named in the JSON
// body's __type, the code of the old query protocol that SQS repeats in the
// x-amzn-query-error header, and the HTTP status. The SDK picks its typed
// error by the shape (types.QueueDoesNotExist, types.ReceiptHandleIsInvalid,
// …) and reports the query code as ErrorCode(); shapes SQS's model does not
// list (InvalidParameterValue, MissingParameter) come back as a
// smithy.GenericAPIError carrying the query code, as they do from SQS.
type errorKind struct {
	shape  string
	query  string
	status int
}

// sqsError is an error of SQS's model; legacy prefixes the query codes that
// SQS's old protocol namespaced.
func sqsError(shape, query string, status int) errorKind {
	return errorKind{shape: "com.amazonaws.sqs#" + shape, query: query, status: status}
}

const legacy = "AWS.SimpleQueueService."

var (
	errQueueDoesNotExist        = sqsError("QueueDoesNotExist", legacy+"NonExistentQueue", http.StatusBadRequest)
	errQueueNameExists          = sqsError("QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest)
	errReceiptHandleIsInvalid   = sqsError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound)
	errMessageNotInflight       = sqsError("MessageNotInflight", legacy+"MessageNotInflight", http.StatusBadRequest)
	errInvalidAttributeName     = sqsError("InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest)
	errInvalidAttributeValue    = sqsError("InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest)
	errInvalidMessageContents   = sqsError("InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest)
	errPurgeQueueInProgress     = sqsError("PurgeQueueInProgress", legacy+"PurgeQueueInProgress", http.StatusForbidden)
	errEmptyBatchRequest        = sqsError("EmptyBatchRequest", legacy+"EmptyBatchRequest", http.StatusBadRequest)
	errTooManyEntriesInBatch    = sqsError("TooManyEntriesInBatchRequest", legacy+"TooManyEntriesInBatchRequest", http.StatusBadRequest)
	errBatchEntryIDsNotDistinct = sqsError("BatchEntryIdsNotDistinct", legacy+"BatchEntryIdsNotDistinct", http.StatusBadRequest)
	errInvalidBatchEntryID      = sqsError("InvalidBatchEntryId", legacy+"InvalidBatchEntryId", http.StatusBadRequest)
	errBatchRequestTooLong      = sqsError("BatchRequestTooLong", legacy+"BatchRequestTooLong", http.StatusBadRequest)
	errUnsupportedOperation     = sqsError("UnsupportedOperation", legacy+"UnsupportedOperation", http.StatusBadRequest)
)

// Generic errors of AWS's service framework rather than of SQS's model.
const coral = "com.amazon.coral.service#"

var (
	errInvalidParameterValue = errorKind{coral + "InvalidParameterValueException", "InvalidParameterValue", http.StatusBadRequest}
	errMissingParameter      = errorKind{coral + "MissingParameterException", "MissingParameter", http.StatusBadRequest}
	errSerialization         = errorKind{coral + "SerializationException", "", http.StatusBadRequest}
	errUnknownOperation      = errorKind{coral + "UnknownOperationException", "", http.StatusBadRequest}
)

// apiError is an error answer: its kind and SQS's message.
type apiError struct {
	kind    errorKind
	message string
}

func (e *apiError) Error() string { return e.kind.shape + ": " + e.message }

func fail(kind errorKind, format string, args ...any) *apiError {
	return &apiError{kind: kind, message: fmt.Sprintf(format, args...)}
}

// batchCode is the Code of a failed entry in a batch answer: SQS puts the
// query protocol's code there.
func (e *apiError) batchCode() string {
	if e.kind.query != "" {
		return e.kind.query
	}
	_, name, _ := strings.Cut(e.kind.shape, "#")
	return name
}

// paramReceiptHandle names the parameter in errors about it.
const paramReceiptHandle = "ReceiptHandle"

// invalidValue is SQS's wording for a parameter outside its range.
func invalidValue(parameter string, value any, reason string) *apiError {
	return fail(errInvalidParameterValue, "Value %v for parameter %s is invalid. Reason: %s", value, parameter, reason)
}

func missing(parameter string) *apiError {
	return fail(errMissingParameter, "The request must contain the parameter %s.", parameter)
}

func queueDoesNotExist() *apiError {
	return fail(errQueueDoesNotExist, "The specified queue does not exist.")
}
