// Package wechat is our thin client for the WeChat Open Platform APIs the
// product uses: one generic call path (token injection, errcode decoding,
// bounded retries, one forced token refresh) and typed methods on top.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// SecretFunc supplies a secret when a call needs it, so a client can be
// built at init without reading any secret.
type SecretFunc func(ctx context.Context) (string, error)

// StaticSecret is a SecretFunc for a secret known up front (tests, tools).
func StaticSecret(s string) SecretFunc {
	return func(context.Context) (string, error) { return s, nil }
}

// Config configures a Client. New makes no network call.
type Config struct {
	BaseURL        string
	ComponentAppID string
	// ComponentSecret is the platform's AppSecret, read by the two calls
	// that carry it (api_component_token, api_start_push_ticket).
	ComponentSecret SecretFunc
	HTTPClient      *http.Client
	// Timeout bounds one attempt (default 5 s).
	Timeout time.Duration
	// MaxAttempts bounds attempts for retryable failures (default 3).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each time with jitter
	// (default 200 ms).
	Backoff time.Duration
	Logger  *slog.Logger
}

// Client calls WeChat. It is safe for concurrent use.
type Client struct {
	cfg Config
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.ComponentSecret == nil {
		cfg.ComponentSecret = func(context.Context) (string, error) { return "", errors.New("no component secret configured") }
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg}
}

// ComponentAppID is the platform's appid the client speaks for.
func (c *Client) ComponentAppID() string { return c.cfg.ComponentAppID }

// TokenSource supplies an access token and forces a refresh when WeChat says
// the token is invalid. Refresh must not refresh again if the stored token
// already differs from stale (someone else refreshed it).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Refresh(ctx context.Context, stale string) (string, error)
}

// StaticToken is a TokenSource that never refreshes (tests, one-off calls).
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// Refresh always fails: a static token cannot be renewed.
func (s StaticToken) Refresh(context.Context, string) (string, error) {
	return "", errors.New("static token cannot be refreshed")
}

// Request is one API call.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Body is JSON-encoded when not nil.
	Body any
	// TokenParam names the query parameter carrying the token
	// ("access_token" or "component_access_token"); empty: no token.
	TokenParam string
	Tokens     TokenSource
	// Idempotent calls may be retried after any transport error; others
	// only when the request certainly never reached WeChat.
	Idempotent bool
	// API names the call in errors and logs.
	API string
}

// Query parameters that carry the token.
const (
	paramAccessToken    = "access_token"
	paramComponentToken = "component_access_token"
)

// appGet is a GET authenticated by an app's (an authorizer's, or the public
// mini program's) access_token.
func appGet(path string, tokens TokenSource) Request {
	return Request{Method: http.MethodGet, Path: path, TokenParam: paramAccessToken, Tokens: tokens}
}

// appPost is a POST of a JSON body authenticated by an app's access_token.
func appPost(path string, tokens TokenSource, body any) Request {
	return Request{Method: http.MethodPost, Path: path, TokenParam: paramAccessToken, Tokens: tokens, Body: body}
}

// retryable marks a request safe to retry after any transport error.
func (r Request) retryable() Request {
	r.Idempotent = true
	return r
}

const maxResponseBytes = 10 << 20

// Do performs req and decodes a successful JSON reply into out (may be nil).
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	_, body, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decode reply: %w", req.API, err)
	}
	return nil
}

// DoBinary performs req and returns a binary reply (QR images). A JSON reply
// is an error reply.
func (c *Client) DoBinary(ctx context.Context, req Request) (string, []byte, error) {
	return c.do(ctx, req)
}

func (c *Client) do(ctx context.Context, req Request) (string, []byte, error) {
	if req.API == "" {
		req.API = req.Path[strings.LastIndexByte(req.Path, '/')+1:]
	}
	token := ""
	if req.TokenParam != "" {
		if req.Tokens == nil {
			return "", nil, fmt.Errorf("%s: no token source", req.API)
		}
		var err error
		if token, err = req.Tokens.Token(ctx); err != nil {
			return "", nil, fmt.Errorf("%s: token: %w", req.API, err)
		}
	}
	refreshed := false
	for {
		ct, body, err := c.withRetries(ctx, req, token)
		if err != nil && IsTokenError(err) && req.TokenParam != "" && !refreshed {
			// WeChat says the token is stale: refresh once (single-flight in
			// the token source) and retry once.
			refreshed = true
			fresh, rerr := req.Tokens.Refresh(ctx, token)
			if rerr != nil {
				return "", nil, fmt.Errorf("%s: refresh token after %w: %w", req.API, err, rerr)
			}
			token = fresh
			continue
		}
		return ct, body, err
	}
}

func (c *Client) withRetries(ctx context.Context, req Request, token string) (string, []byte, error) {
	delay := c.cfg.Backoff
	var lastErr error
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		ct, body, err := c.once(ctx, req, token)
		if err == nil {
			return ct, body, nil
		}
		lastErr = err
		if !c.retryable(req, err) || attempt == c.cfg.MaxAttempts {
			break
		}
		jitter := time.Duration(rand.Int64N(int64(delay)/2 + 1))
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("%s: %w (last error: %w)", req.API, ctx.Err(), lastErr)
		case <-time.After(delay + jitter):
		}
		delay *= 2
	}
	return "", nil, lastErr
}

// retryable: -1 (system busy: not processed) for every call; transport
// errors for idempotent calls, or when the request never left.
func (c *Client) retryable(req Request, err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Code == CodeBusy
	}
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	return req.Idempotent || te.notSent
}

type transportError struct {
	api     string
	err     error
	notSent bool
}

func (e *transportError) Error() string { return e.api + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) once(ctx context.Context, req Request, token string) (string, []byte, error) {
	q := url.Values{}
	maps.Copy(q, req.Query)
	if req.TokenParam != "" {
		q.Set(req.TokenParam, token)
	}
	u := c.cfg.BaseURL + req.Path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(req.Body); err != nil {
			return "", nil, fmt.Errorf("%s: encode: %w", req.API, err)
		}
		body = &buf
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u, body)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", req.API, err)
	}
	if req.Body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return "", nil, &transportError{api: req.API, err: redact(err), notSent: neverSent(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return "", nil, &transportError{api: req.API, err: redact(err)}
	}
	if len(raw) > maxResponseBytes {
		return "", nil, fmt.Errorf("%s: reply larger than %d bytes", req.API, maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, &transportError{api: req.API, err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/json" || mt == "text/plain" || mt == "" || bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if apiErr := decodeError(req.API, raw); apiErr != nil {
			return "", nil, apiErr
		}
	}
	return ct, raw, nil
}

// neverSent reports errors raised before the request reached the server.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// redact drops the URL (it carries the access token) from transport errors.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// NotSent reports whether err says the call certainly did nothing at
// WeChat: the request never left, or WeChat answered -1 (busy, not
// processed). Such a call may be made again without doing it twice.
func NotSent(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Code == CodeBusy
	}
	var te *transportError
	return errors.As(err, &te) && te.notSent
}
