package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"wxchannel/shared/logging"
)

// DefaultMaxBody bounds request bodies when a handler sets no other limit.
const DefaultMaxBody = 64 << 10

// DecodeJSON reads r's body as one JSON value into dst. It enforces the
// content type, the size limit (maxBytes, DefaultMaxBody when 0), unknown
// fields and trailing data, and returns an *Error the client can act on.
func DecodeJSON(r *http.Request, dst any, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "the body must be application/json"}
		}
	}
	if r.ContentLength > maxBytes {
		return tooLarge(maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "the request body could not be read", Err: err}
	}
	if int64(len(body)) > maxBytes {
		return tooLarge(maxBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequest("empty_body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return malformed(err)
	}
	if dec.More() {
		return BadRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	return nil
}

func tooLarge(limit int64) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds %d bytes", limit)
}

func malformed(err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return Errorf(http.StatusBadRequest, "malformed_json", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return Invalid(typ.Field, "must be a "+typ.Type.String())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed_json", "the JSON body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown_field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return BadRequest("malformed_json", "the body is not valid JSON")
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Free text is returned as typed; a browser must never take it for HTML.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes err as the error envelope. Internal causes are logged
// here, once, with the request id; the client sees only the public message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	he := AsError(err)
	level := slog.LevelInfo
	if he.Status >= 500 {
		level = slog.LevelError
	}
	if log != nil {
		attrs := []any{"status", he.Status, "code", he.Code, "path", r.URL.Path}
		if he.Err != nil {
			attrs = append(attrs, "err", he.Err.Error())
		} else if he.Status >= 500 {
			attrs = append(attrs, "err", err.Error())
		}
		log.Log(r.Context(), level, "request failed", attrs...)
	}
	if he.Status == http.StatusTooManyRequests || he.Status == http.StatusServiceUnavailable {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	WriteJSON(w, he.Status, envelope{Error: envelopeBody{
		Code: he.Code, Message: he.Message, Details: he.Details, RequestID: logging.RequestID(r.Context()),
	}})
}
