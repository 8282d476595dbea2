package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"wxchannel/shared/apperr"
	"wxchannel/shared/logging"
)

// DefaultMaxBody bounds request bodies when a handler sets no other limit.
const DefaultMaxBody = 64 << 10

// DecodeJSON reads r's body as one JSON value into dst. It enforces the
// content type, the size limit (maxBytes, DefaultMaxBody when 0), unknown
// fields and trailing data, and returns an *apperr.Error the client can act on.
func DecodeJSON(r *http.Request, dst any, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.E(apperr.Unsupported, "unsupported_media_type", "the body must be application/json")
		}
	}
	if r.ContentLength > maxBytes {
		return TooLarge(maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return apperr.BadRequest("unreadable_body", "the request body could not be read").Wrap(err)
	}
	if int64(len(body)) > maxBytes {
		return TooLarge(maxBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.BadRequest("empty_body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return malformed(err)
	}
	if dec.More() {
		return apperr.BadRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.BadRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	return nil
}

// TooLarge is the error for a body over limit bytes.
func TooLarge(limit int64) *apperr.Error {
	return apperr.Errorf(apperr.TooLarge, "body_too_large", "the request body exceeds %d bytes", limit)
}

func malformed(err error) *apperr.Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.Errorf(apperr.Invalid, "malformed_json", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return apperr.InvalidField(typ.Field, "must be a "+typ.Type.String())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.BadRequest("malformed_json", "the JSON body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apperr.BadRequest("unknown_field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return apperr.BadRequest("malformed_json", "the body is not valid JSON")
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

// Reply ends a handler: it returns err for the error envelope, or writes v
// as JSON with status when err is nil.
func Reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	WriteJSON(w, status, v)
	return nil
}

// WriteError writes err as the error envelope. Internal causes are logged
// here, once, with the request id; the client sees only the public message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	he := AsError(err)
	status := Status(he.Kind)
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	if log != nil {
		attrs := []any{"status", status, "code", he.Code, "path", r.URL.Path}
		if he.Err != nil {
			attrs = append(attrs, "err", he.Err.Error())
		} else if status >= http.StatusInternalServerError {
			attrs = append(attrs, "err", err.Error())
		}
		log.Log(r.Context(), level, "request failed", attrs...)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if w.Header().Get("Retry-After") == "" {
			after := 1
			if secs := int(he.RetryAfter.Seconds()); secs > 0 {
				after = secs
			}
			w.Header().Set("Retry-After", strconv.Itoa(after))
		}
	}
	WriteJSON(w, status, envelope{Error: envelopeBody{
		Code: he.Code, Message: he.Message, Details: he.Details, RequestID: logging.RequestID(r.Context()),
	}})
}
