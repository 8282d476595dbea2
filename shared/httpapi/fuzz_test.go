package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
)

// FuzzDecodeJSON: any body and content type either decodes into the
// request struct (then it was one valid JSON object within the limit) or
// is refused with a 4xx error — never a panic or a 5xx.
func FuzzDecodeJSON(f *testing.F) {
	const limit = 256
	for _, s := range []string{`{"name":"a","count":1}`, `{"name":"a"} {"name":"b"}`, `{"name":"a","extra":1}`, `[1,2]`, `{"count":"x"}`,
		`{"name":"` + string(bytes.Repeat([]byte("x"), 300)) + `"}`, ``, `null`, `{"name":"\ud800"}`, "{\"name\":\"\xff\"}"} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{"name":"a"}`), "text/plain")
	f.Add([]byte(`{"name":"a"}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"name":"a"}`), "application/json; charset=\"")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		var dst createReq
		err := httpapi.DecodeJSON(r, &dst, limit)
		if err != nil {
			var he *apperr.Error
			if !errors.As(err, &he) || httpapi.Status(he.Kind) < 400 || httpapi.Status(he.Kind) >= 500 || he.Code == "" {
				t.Fatalf("DecodeJSON(%q, %q) = %v, want a 4xx *apperr.Error", body, contentType, err)
			}
			return
		}
		if len(body) > limit {
			t.Fatalf("accepted %d bytes over a %d-byte limit", len(body), limit)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted something that is not an object: %q", body)
		}
		for k := range m { // encoding/json matches field names case-insensitively
			if !strings.EqualFold(k, "name") && !strings.EqualFold(k, "count") {
				t.Fatalf("accepted unknown field %q", k)
			}
		}
	})
}
