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
