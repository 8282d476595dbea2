// Package httpapi holds the HTTP conventions every endpoint shares: JSON
// decoding with a body limit, the error envelope
// {"error":{"code":"...","message":"..."}}, request ids and access logs.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/smithy-go"
)

// Error is an error with the HTTP status and the machine-readable code the
// client sees. Its Message is shown to the user and must not carry secrets.
type Error struct {
	Status  int
	Code    string
	Message string
	// Details is optional structured data for the client (for example the
	// solution to an authorization failure).
	Details any
	// Err is the internal cause, logged but never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
func BadRequest(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg}
}
func NotFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}
func Conflict(code, msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Message: msg}
}
func Unauthorized(code, msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: code, Message: msg}
}
func Forbidden(code, msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: code, Message: msg}
}

// Invalid reports a request field that failed validation.
func Invalid(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Message: field + ": " + msg, Details: map[string]string{"field": field}}
}

type envelope struct {
	Error envelopeBody `json:"error"`
}

type envelopeBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
	// RequestID lets a user quote the failing request to support.
	RequestID string `json:"request_id,omitempty"`
}

// AsError turns any error into the *Error sent to the client: an *Error in
// the chain is used as is; anything else is an internal error whose cause is
// not disclosed.
func AsError(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var up Upstream
	if errors.As(err, &up) {
		name, code := up.Upstream()
		return &Error{Status: http.StatusBadGateway, Code: name + "_error", Message: name + " refused the request; retry later",
			Details: map[string]any{"upstream_code": code}, Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) && unavailableCodes[api.ErrorCode()] {
		return &Error{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", Message: "storage is unavailable or busy; retry shortly", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusGatewayTimeout, Code: "timeout", Message: "the request took too long; retry", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "dependency_unavailable", Message: "a service we depend on did not answer; retry shortly", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; retry later", Err: err}
}

// Upstream is implemented by errors an outside API answered (WeChat's
// errcodes): the name of the API and its own code, which the client may
// quote to support. Errors a handler maps to a precise status never reach
// this point.
type Upstream interface {
	error
	Upstream() (name string, code int)
}

// unavailableCodes are DynamoDB's answers that mean "not now": the client
// should retry, nothing was written.
var unavailableCodes = map[string]bool{
	"InternalServerError": true, "ServiceUnavailable": true, "ThrottlingException": true,
	"ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true, "LimitExceededException": true,
}
