// Package httpapi holds the HTTP conventions every endpoint shares: JSON
// decoding with a body limit, the error envelope
// {"error":{"code":"...","message":"..."}}, request ids and access logs. It
// alone maps the product's error kinds to HTTP statuses.
package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"

	"wxchannel/shared/apperr"
)

// statuses maps each error kind to the status the client receives.
var statuses = map[apperr.Kind]int{
	apperr.Internal:        http.StatusInternalServerError,
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Rejected:        http.StatusUnprocessableEntity,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.Unsupported:     http.StatusUnsupportedMediaType,
	apperr.NotAllowed:      http.StatusMethodNotAllowed,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Upstream:        http.StatusBadGateway,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Timeout:         http.StatusGatewayTimeout,
}

// Status is the HTTP status of an error kind.
func Status(k apperr.Kind) int {
	if s, ok := statuses[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusOf is the HTTP status err is answered with.
func StatusOf(err error) int { return Status(AsError(err).Kind) }

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

// AsError turns any error into the *apperr.Error sent to the client: a
// classified error in the chain is used as is; an outside API's refusal, a
// deadline or a network failure get their own kinds; anything else is an
// internal error whose cause is not disclosed.
func AsError(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	if up, ok := errors.AsType[apperr.UpstreamError](err); ok {
		name, code := up.Upstream()
		return &apperr.Error{Kind: apperr.Upstream, Code: name + "_error", Message: name + " refused the request; retry later",
			Details: map[string]any{"upstream_code": code}, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apperr.Error{Kind: apperr.Timeout, Code: "timeout", Message: "the request took too long; retry", Err: err}
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return apperr.E(apperr.Unavailable, "dependency_unavailable", "a service we depend on did not answer; retry shortly").Wrap(err)
	}
	return &apperr.Error{Kind: apperr.Internal, Code: "internal", Message: "internal error; retry later", Err: err}
}
