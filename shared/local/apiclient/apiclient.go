// Package apiclient is the JSON-over-HTTP client of the local tools and
// tests: the walkthrough, the load test and the test environment call the
// product's API through it, so a request is built and a reply read the same
// way everywhere.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client calls one API base URL.
type Client struct {
	Base string
	HTTP *http.Client
}

// Request is one call: a JSON body (when not nil) or a raw one, a bearer
// token (when not empty) and extra headers.
type Request struct {
	Method, Path, Token string
	Body                any
	// Raw is sent as is when Body is nil; its Content-Type, if any, is
	// one of the headers.
	Raw     []byte
	Headers map[string]string
}

// Reply is an HTTP reply with its JSON body decoded (Body is nil when the
// reply is not a JSON object).
type Reply struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

const maxReply = 4 << 20

// Do sends req and reads the reply; only a transport failure is an error.
func (c *Client) Do(ctx context.Context, req Request) (Reply, error) {
	var rd io.Reader
	switch {
	case req.Body != nil:
		b, err := json.Marshal(req.Body)
		if err != nil {
			return Reply{}, fmt.Errorf("%s %s: encode: %w", req.Method, req.Path, err)
		}
		rd = bytes.NewReader(b)
	case req.Raw != nil:
		rd = bytes.NewReader(req.Raw)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, c.Base+req.Path, rd)
	if err != nil {
		return Reply{}, err
	}
	if req.Body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return Reply{}, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return Reply{}, fmt.Errorf("%s %s: read reply: %w", req.Method, req.Path, err)
	}
	out := Reply{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out, nil
}

// Expect sends req and fails unless the reply has status want.
func (c *Client) Expect(ctx context.Context, req Request, want int) (Reply, error) {
	r, err := c.Do(ctx, req)
	if err != nil {
		return r, err
	}
	if r.Status != want {
		return r, fmt.Errorf("%s %s: HTTP %d, expected %d: %s", req.Method, req.Path, r.Status, want, strings.TrimSpace(r.Raw))
	}
	return r, nil
}

// Get walks the decoded body along path.
func (r Reply) Get(path ...string) any { return Get(r.Body, path...) }

// Str is the string at path ("" when absent or not a string).
func (r Reply) Str(path ...string) string {
	s, _ := r.Get(path...).(string)
	return s
}

// List is the array at path (nil when absent).
func (r Reply) List(path ...string) []any {
	l, _ := r.Get(path...).([]any)
	return l
}

// Map is the object at path (nil when absent).
func (r Reply) Map(path ...string) map[string]any {
	m, _ := r.Get(path...).(map[string]any)
	return m
}

// ErrorCode is the error envelope's code ("" for a success).
func (r Reply) ErrorCode() string { return r.Str("error", "code") }

// Get walks a decoded JSON object along path.
func Get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}
