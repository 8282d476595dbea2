package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

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
	if !utf8.Valid(body) {
		// JSON text is UTF-8 (RFC 8259); a decoder would silently replace
		// invalid bytes instead of refusing them.
		return apperr.BadRequest("malformed_json", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return malformed(err, dst)
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

func malformed(err error, dst any) *apperr.Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.Errorf(apperr.Invalid, "malformed_json", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return wrongType(typ, reflect.TypeOf(dst))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.BadRequest("malformed_json", "the JSON body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apperr.BadRequest("unknown_field", strings.TrimPrefix(err.Error(), "json: "))
	}
	return apperr.BadRequest("malformed_json", "the body is not valid JSON")
}

// wrongType describes a value of the wrong JSON type in JSON's words (a
// string, a number, an object...): the client never wrote Go.
func wrongType(typ *json.UnmarshalTypeError, dst reflect.Type) *apperr.Error {
	if typ.Field == "" {
		return apperr.BadRequest("invalid_body", "the body must be "+jsonType(typ.Type))
	}
	want := fieldType(dst, typ.Field)
	if want == nil {
		want = typ.Type
	}
	if number, ok := strings.CutPrefix(typ.Value, "number "); ok && isNumber(typ.Type) {
		return apperr.InvalidField(typ.Field, numberProblem(number, typ.Type, want))
	}
	return apperr.InvalidField(typ.Field, "must be "+jsonType(want))
}

// numberProblem says why a JSON number does not fit a numeric field of
// type t (declared as want): a fraction, an exponent or its size.
func numberProblem(number string, t, want reflect.Type) string {
	f, err := strconv.ParseFloat(number, 64)
	switch {
	case err != nil || !isInteger(t):
		return numberOutOfRange
	case f != math.Trunc(f):
		return "must be " + jsonType(want)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr && (f < 0 || f >= math.Ldexp(1, t.Bits())):
		return numberOutOfRange
	case t.Kind() < reflect.Uint && (f < -math.Ldexp(1, t.Bits()-1) || f >= math.Ldexp(1, t.Bits()-1)):
		return numberOutOfRange
	}
	return "must be an integer written without a fraction or an exponent"
}

// Descriptions of values that no one JSON type names.
const (
	numberOutOfRange = "the number is out of range"
	anotherJSONType  = "a value of another type"
)

var (
	jsonNumberType      = reflect.TypeFor[json.Number]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// jsonType names, with its article, the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ptr := reflect.PointerTo(t)
	switch {
	case t == jsonNumberType:
		return "a number"
	case ptr.Implements(jsonUnmarshalerType):
		return anotherJSONType
	case ptr.Implements(textUnmarshalerType):
		return "a string"
	case isInteger(t):
		return "an integer"
	case isNumber(t):
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct:
		return "an object"
	case reflect.Map:
		return "an object" + ofElements(t.Elem())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string (base64)"
		}
		return "an array" + ofElements(t.Elem())
	}
	return anotherJSONType
}

// ofElements describes what an array or an object holds, when it is one
// JSON type.
func ofElements(elem reflect.Type) string {
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if elem.Kind() == reflect.Interface {
		return ""
	}
	noun := jsonType(elem)
	if noun == anotherJSONType {
		return ""
	}
	noun = strings.TrimPrefix(strings.TrimPrefix(noun, "a "), "an ")
	first, rest, _ := strings.Cut(noun, " ")
	if rest != "" {
		rest = " " + rest
	}
	return " of " + first + "s" + rest
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func isNumber(t reflect.Type) bool {
	return isInteger(t) || t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64
}

// fieldType is the declared type of the field at path (JSON names joined
// by dots, as the decoder reports them) in t, or nil. It lets a wrong
// element of an array be described by the array.
func fieldType(t reflect.Type, path string) reflect.Type {
	for name := range strings.SplitSeq(path, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := jsonField(t, name)
		if !ok {
			return nil
		}
		t = f.Type
	}
	return t
}

// jsonField finds the field of struct t that JSON calls name, through
// embedded structs as encoding/json does.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			inner := f.Type
			if inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				if found, ok := jsonField(inner, name); ok {
					return found, true
				}
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && strings.EqualFold(tag, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
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
