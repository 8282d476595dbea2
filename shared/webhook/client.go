package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a delivery.
const (
	DefaultTimeout   = 10 * time.Second
	MaxResponseBytes = 4 << 10 // read of the endpoint's answer; the rest is never read
	MaxSnippetBytes  = 256     // kept of it in Result.Snippet
	// maxResponseHeaderBytes bounds what a hostile endpoint can make us
	// buffer before the body.
	maxResponseHeaderBytes = 64 << 10
)

// Errors of a failed delivery, each wrapped with detail.
var (
	ErrNoSecret = errors.New("webhook: the target lacks a signing secret")
	ErrTimeout  = errors.New("webhook: the endpoint did not answer in time")
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Timeout bounds one delivery from dialling to the end of the answer
	// (default DefaultTimeout).
	Timeout time.Duration
	// AllowPrivate lets the client dial loopback, private and other
	// non-public addresses, and post to http:// URLs: local runs only,
	// where the dev server's receiver listens on plain http on loopback.
	AllowPrivate bool
	// Transport replaces the client's own transport, and with it the
	// dial-time address check; tests only.
	Transport http.RoundTripper
}

// Client posts signed events to tenants' endpoints. It refuses, when
// dialling, any address outside the public internet (unless AllowPrivate),
// so a host name that resolves to a private address, at the time of the
// request, cannot reach our network whatever ValidateURL saw when the URL
// was saved. It never follows a redirect, and it logs nothing: bodies and
// secrets stay out of every log. It is safe for concurrent use; build one
// per function instance so connections are reused.
type Client struct {
	http         *http.Client
	timeout      time.Duration
	allowPrivate bool
}

// NewClient returns a client.
func NewClient(o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	transport := o.Transport
	if transport == nil {
		transport = guardedTransport(o)
	}
	return &Client{
		http: &http.Client{
			Transport: transport,
			// A redirect is the endpoint's answer, reported with its status:
			// following it would post the event somewhere the tenant never
			// registered, past the URL rules.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:      o.Timeout,
		allowPrivate: o.AllowPrivate,
	}
}

// guardedTransport is an HTTP transport whose dialer refuses non-public
// addresses unless o.AllowPrivate.
func guardedTransport(o ClientOptions) *http.Transport {
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		// Control runs after name resolution, on each address about to be
		// connected: the check covers every record of the name and cannot
		// be raced by a DNS answer that changes between check and use.
		dialer.Control = dialGuard
	}
	return &http.Transport{
		// No proxy: the guard would judge the proxy's address instead of
		// the tenant's.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    o.Timeout,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
}

// dialGuard is a net.Dialer Control function refusing non-public addresses.
func dialGuard(_, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrForbiddenAddress, address)
	}
	return checkAddr(addrPort.Addr())
}

// Result is the outcome of one delivery.
type Result struct {
	Status   int           // the endpoint's HTTP status; 0 when none arrived
	Duration time.Duration // from the start of the delivery to its outcome
	// Err says why no answer arrived (a network failure, a timeout, a
	// refused address, a target that cannot be used); nil whenever Status
	// is set, whatever it is.
	Err error
	// Snippet is the start of the endpoint's answer (at most
	// MaxSnippetBytes), printable, for the tenant admin's delivery log.
	Snippet string
}

// OK reports whether the endpoint accepted the event (answered 2xx).
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Deliver posts m to t, signed with t's secrets at now. Only a 2xx answer
// delivers it: any other status, a redirect included, is a failure with
// that Status; network failures and timeouts are failures with Status 0
// and an Err.
func (c *Client) Deliver(ctx context.Context, t Target, m Message, now time.Time) Result {
	start := time.Now()
	r := c.deliver(ctx, t, m, now)
	r.Duration = time.Since(start)
	return r
}

func (c *Client) deliver(ctx context.Context, t Target, m Message, now time.Time) Result {
	if len(t.Secrets) == 0 || slices.ContainsFunc(t.Secrets, func(s []byte) bool { return len(s) == 0 }) {
		return Result{Err: ErrNoSecret}
	}
	// The address is judged when dialling; here only the URL's shape, and
	// the scheme, which admission already checked but which must hold on
	// every request.
	if err := ValidateURL(t.URL, URLOptions{AllowHTTP: c.allowPrivate, AllowPrivate: true}); err != nil {
		return Result{Err: fmt.Errorf("webhook: unusable URL: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Result{Err: fmt.Errorf("webhook: build request: %w", err)}
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, SignatureHeader(t.Secrets, ts, m.Body))
	req.Header.Set(HeaderEventID, m.ID)
	req.Header.Set(HeaderEventType, m.Type)

	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Err: c.transportError(ctx, err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	return Result{Status: resp.StatusCode, Snippet: snippet(answer)}
}

// transportError says why no answer arrived, without the URL, which may
// carry a token of the tenant's in its query.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer within %s: %w", ErrTimeout, c.timeout, err)
	}
	return fmt.Errorf("webhook: no answer: %w", err)
}

// snippet returns the start of an answer as printable text: control
// characters and runs of white space become one space, bytes that are not
// UTF-8 become '?', and the result ends on a whole character within
// MaxSnippetBytes.
func snippet(answer []byte) string {
	var b strings.Builder
	space := false
	for len(answer) > 0 {
		r, size := utf8.DecodeRune(answer)
		answer = answer[size:]
		switch {
		case r == utf8.RuneError && size == 1:
			r = '?'
		case unicode.IsSpace(r) || !unicode.IsPrint(r):
			space = b.Len() > 0
			continue
		}
		if space {
			if b.Len()+1+utf8.RuneLen(r) > MaxSnippetBytes {
				break
			}
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > MaxSnippetBytes {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
