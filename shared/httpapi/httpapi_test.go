package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/logging"
)

type createReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		limit                   int64
		wantStatus              int
		wantCode                string
	}{
		{"valid", "application/json", `{"name":"pump","count":2}`, 0, 0, ""},
		{"valid with charset", "application/json; charset=utf-8", `{"name":"pump"}`, 0, 0, ""},
		{"no content type is accepted", "", `{"name":"pump"}`, 0, 0, ""},
		{"malformed", "application/json", `{"name":`, 0, 400, "malformed_json"},
		{"syntax error", "application/json", `{"name" "x"}`, 0, 400, "malformed_json"},
		{"wrong type", "application/json", `{"count":"two"}`, 0, 400, "invalid_field"},
		{"unknown field", "application/json", `{"naem":"x"}`, 0, 400, "unknown_field"},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, 0, 400, "malformed_json"},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 0, 400, "malformed_json"},
		{"empty", "application/json", ``, 0, 400, "empty_body"},
		{"whitespace only", "application/json", "  \n", 0, 400, "empty_body"},
		{"over the limit", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 64, 413, "body_too_large"},
		{"form content type", "application/x-www-form-urlencoded", `name=x`, 0, 415, "unsupported_media_type"},
		{"xml", "text/xml", `<xml/>`, 0, 415, "unsupported_media_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			var dst createReq
			err := httpapi.DecodeJSON(r, &dst, tc.limit)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if dst.Name != "pump" {
					t.Fatalf("decoded %+v", dst)
				}
				return
			}
			var he *apperr.Error
			if !errors.As(err, &he) {
				t.Fatalf("error %v is not an *apperr.Error", err)
			}
			if httpapi.Status(he.Kind) != tc.wantStatus || he.Code != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", httpapi.Status(he.Kind), he.Code, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

type place struct {
	Label string `json:"label"`
}

type typedReq struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	Score   float64           `json:"score"`
	Urgent  bool              `json:"urgent"`
	Where   place             `json:"where"`
	Stops   []place           `json:"stops"`
	Tags    []string          `json:"tags"`
	Limits  map[string]int    `json:"limits"`
	Maybe   *int              `json:"maybe"`
	Extra   map[string]string `json:"extra"`
	Numbers json.Number       `json:"numbers"`
}

// TestDecodeJSONNamesJSONTypesNeverGoTypes: a value of the wrong type is
// described in the words of JSON (string, number, integer, boolean,
// object, array), never by the Go type it would have been decoded into.
func TestDecodeJSONNamesJSONTypesNeverGoTypes(t *testing.T) {
	cases := []struct {
		name, body, code, message string
	}{
		{"a number for a string", `{"name":1}`, "invalid_field", "name: must be a string"},
		{"a string for an integer", `{"count":"two"}`, "invalid_field", "count: must be an integer"},
		{"a fraction for an integer", `{"count":1.5}`, "invalid_field", "count: must be an integer"},
		{"an integer out of range", `{"count":1e30}`, "invalid_field", "count: the number is out of range"},
		{"a negative integer out of range", `{"count":-99999999999999999999}`, "invalid_field", "count: the number is out of range"},
		{"an integer with an exponent", `{"count":1e3}`, "invalid_field", "count: must be an integer written without a fraction or an exponent"},
		{"a number out of range", `{"score":1e400}`, "invalid_field", "score: the number is out of range"},
		{"a boolean for a number", `{"score":true}`, "invalid_field", "score: must be a number"},
		{"a string for a boolean", `{"urgent":"yes"}`, "invalid_field", "urgent: must be a boolean"},
		{"a string for a field of struct type", `{"where":"home"}`, "invalid_field", "where: must be an object"},
		{"a wrong field inside an object", `{"where":{"label":7}}`, "invalid_field", "where.label: must be a string"},
		{"a string for an array", `{"tags":"a,b"}`, "invalid_field", "tags: must be an array of strings"},
		{"a wrong element of an array", `{"tags":["a",2]}`, "invalid_field", "tags: must be an array of strings"},
		{"a wrong field of an object in an array", `{"stops":[{"label":false}]}`, "invalid_field", "stops.label: must be a string"},
		{"a string for an array of objects", `{"stops":"x"}`, "invalid_field", "stops: must be an array of objects"},
		{"a wrong value in an object of integers", `{"limits":{"a":"b"}}`, "invalid_field", "limits: must be an object of integers"},
		{"an array for a pointer to an integer", `{"maybe":[1]}`, "invalid_field", "maybe: must be an integer"},
		{"an array for an object of strings", `{"extra":[]}`, "invalid_field", "extra: must be an object of strings"},
		{"top-level array", `[{"name":"a"}]`, "invalid_body", "the body must be an object"},
		{"top-level string", `"pump"`, "invalid_body", "the body must be an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			err := httpapi.DecodeJSON(r, &typedReq{}, 0)
			he, ok := apperr.As(err)
			if !ok || httpapi.Status(he.Kind) != 400 || he.Code != tc.code || he.Message != tc.message {
				t.Fatalf("got %v, want 400 %s %q", err, tc.code, tc.message)
			}
			for _, goWord := range []string{"Go ", "httpapi", "typedReq", "place", "float", "int64", "[]", "map[", "*", "bool "} {
				if strings.Contains(he.Message, goWord) {
					t.Fatalf("message %q names a Go type (%q)", he.Message, goWord)
				}
			}
		})
	}
	// A top-level array decoded into a slice is described as such.
	r := httptest.NewRequest("POST", "/x", strings.NewReader(`{"name":"a"}`))
	var list []place
	if he, _ := apperr.As(httpapi.DecodeJSON(r, &list, 0)); he == nil || he.Message != "the body must be an array of objects" {
		t.Fatalf("object for a list: %v", he)
	}
}

// TestDecodeJSONRefusesInvalidUTF8: JSON is UTF-8; invalid bytes are
// refused, not silently replaced.
func TestDecodeJSONRefusesInvalidUTF8(t *testing.T) {
	r := httptest.NewRequest("POST", "/x", strings.NewReader("{\"name\":\"pump\xff\"}"))
	r.Header.Set("Content-Type", "application/json")
	var dst createReq
	if err := httpapi.DecodeJSON(r, &dst, 0); httpapi.StatusOf(err) != 400 || apperr.CodeOf(err) != "malformed_json" {
		t.Fatalf("got %v, decoded %+v", err, dst)
	}
}

func TestDecodeJSONStopsReadingAtTheLimit(t *testing.T) {
	// A body without a Content-Length (chunked) is cut at the limit.
	body := &countingReader{r: strings.NewReader(`{"name":"` + strings.Repeat("x", 1<<20) + `"}`)}
	r := httptest.NewRequest("POST", "/x", body)
	r.ContentLength = -1
	err := httpapi.DecodeJSON(r, &createReq{}, 1024)
	if httpapi.StatusOf(err) != 413 {
		t.Fatalf("got %v", err)
	}
	if body.n > 1025+512 {
		t.Fatalf("read %d bytes of an oversized body", body.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if len(p) > 512 {
		p = p[:512]
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestRouterAndMiddleware(t *testing.T) {
	var logs bytes.Buffer
	log := logging.New(&logs, "info")
	rt := httpapi.NewRouter(log)
	rt.Handle("POST /things", func(w http.ResponseWriter, r *http.Request) error {
		var req createReq
		if err := httpapi.DecodeJSON(r, &req, 0); err != nil {
			return err
		}
		httpapi.WriteJSON(w, 201, req)
		return nil
	})
	rt.Handle("GET /boom", func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("storage node 10.0.0.7 rejected the write")
	})
	rt.Handle("GET /panic", func(w http.ResponseWriter, r *http.Request) error { panic("bad") })
	rt.Handle("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) error {
		httpapi.WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
		return nil
	})
	h := httpapi.Middleware("things", log, time.Second, rt)

	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"created", "POST", "/things", `{"name":"a"}`, 201, ""},
		{"path value", "GET", "/things/42", "", 200, ""},
		{"malformed", "POST", "/things", `{`, 400, "malformed_json"},
		{"unknown route", "GET", "/nothing", "", 404, "route_not_found"},
		{"wrong method", "PUT", "/things", "", 405, "method_not_allowed"},
		{"internal error hides its cause", "GET", "/boom", "", 500, "internal"},
		{"panic becomes 500", "GET", "/panic", "", 500, "internal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("X-Request-Id", "req-123")
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if rec.Header().Get("X-Request-Id") != "req-123" {
				t.Fatalf("request id not echoed")
			}
			if tc.code == "" {
				if tc.name == "path value" && !strings.Contains(rec.Body.String(), `"id":"42"`) {
					t.Fatalf("path value lost: %s", rec.Body)
				}
				return
			}
			var env struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if env.Error.Code != tc.code || env.Error.Message == "" {
				t.Fatalf("envelope %+v", env.Error)
			}
			if strings.Contains(rec.Body.String(), "10.0.0.7") {
				t.Fatalf("internal cause leaked to the client: %s", rec.Body)
			}
		})
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("PUT", "/things", nil)
	req.Header.Set("X-Request-Id", "req-123")
	h.ServeHTTP(rec, req)
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "POST") {
		t.Fatalf("Allow header %q", allow)
	}
	// Every log line is JSON and carries the request id.
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["request_id"] != "req-123" {
			t.Fatalf("log line without request id: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "10.0.0.7") {
		t.Fatalf("the internal cause should be logged for operators")
	}
}

type fakeUpstream struct{}

func (fakeUpstream) Error() string           { return "wechat errcode 40013" }
func (fakeUpstream) Upstream() (string, int) { return "wechat", 40013 }

// TestAsErrorClassifiesDependencyFailures: a failure of something we depend
// on is a clear, retryable status, never a bare 500. (Storage classifies its
// own errors: see shared/storage.)
func TestAsErrorClassifiesDependencyFailures(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("put: %w", apperr.E(apperr.Unavailable, "storage_unavailable", "storage is busy")), 503, "storage_unavailable"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), 504, "timeout"},
		{fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), 503, "dependency_unavailable"},
		{fmt.Errorf("login: %w", fakeUpstream{}), 502, "wechat_error"},
		{errors.New("anything else"), 500, "internal"},
	} {
		he := httpapi.AsError(tc.err)
		if httpapi.Status(he.Kind) != tc.status || he.Code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, httpapi.Status(he.Kind), he.Code, tc.status, tc.code)
		}
	}
}
