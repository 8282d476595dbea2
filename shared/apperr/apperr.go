// Package apperr is the product's error vocabulary. A domain error carries a
// transport-neutral Kind, a machine-readable code the client can branch on,
// a message safe to show to a person, and optional details; the internal
// cause stays in Err for the logs. Only shared/httpapi turns kinds into HTTP
// statuses.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// Kinds of error. The zero value is Internal: an error nobody classified is
// never mistaken for the caller's fault.
const (
	Internal        Kind = iota // a bug or an unexpected failure; the cause is not disclosed
	Invalid                     // the request is malformed or a field is wrong
	Unauthenticated             // no valid credentials
	Forbidden                   // valid credentials without the right to do this
	NotFound                    // nothing by that name for this caller
	Conflict                    // the state changed, or the thing exists already
	Rejected                    // well-formed, but a business rule refuses it
	TooLarge                    // the request is over a size limit
	Unsupported                 // the request's media type is not accepted
	NotAllowed                  // the method is not allowed on the resource
	RateLimited                 // too many requests; retry later
	Upstream                    // an outside API (WeChat) refused
	Unavailable                 // a dependency is down or busy; retry shortly
	Timeout                     // the work took too long; retry
)

var kindNames = [...]string{
	Internal: "internal", Invalid: "invalid", Unauthenticated: "unauthenticated", Forbidden: "forbidden",
	NotFound: "not_found", Conflict: "conflict", Rejected: "rejected", TooLarge: "too_large",
	Unsupported: "unsupported", NotAllowed: "not_allowed", RateLimited: "rate_limited", Upstream: "upstream",
	Unavailable: "unavailable", Timeout: "timeout",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a classified error. Message is shown to the client and must not
// carry secrets or internal detail; Err is the cause, logged but never sent.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Details is optional structured data for the client (the field that
	// failed validation, the solution to an authorization failure...).
	Details any
	// RetryAfter hints how long a rate-limited or unavailable caller
	// should wait; zero leaves it to the transport's default.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an error of kind with a code and a message.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Errorf returns an error of kind with a code and a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(details any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Wrap returns a copy of e whose internal cause is err.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// After returns a copy of e asking the caller to retry after d.
func (e *Error) After(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// InvalidField reports a request field that failed validation; the field's
// name is in the details.
func InvalidField(field, message string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_field", Message: field + ": " + message, Details: map[string]string{"field": field}}
}

// BadRequest is an Invalid error with its own code.
func BadRequest(code, message string) *Error { return E(Invalid, code, message) }

// Missing is a NotFound error with the generic code "not_found".
func Missing(message string) *Error { return E(NotFound, "not_found", message) }

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of the *Error in err's chain (Internal when none).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the *Error in err's chain ("" when none).
func CodeOf(err error) string {
	if e, ok := As(err); ok {
		return e.Code
	}
	return ""
}

// Is reports whether err carries an *Error with code.
func Is(err error, code string) bool { return CodeOf(err) == code }

// UpstreamError is implemented by errors an outside API answered (WeChat's
// errcodes): the API's name and its own code, which a client may quote to
// support. Errors a caller maps to a precise kind never need it.
type UpstreamError interface {
	error
	Upstream() (name string, code int)
}
