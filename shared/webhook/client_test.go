package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"wxchannel/shared/webhook"
)

// received is what a test server saw of a request.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

func TestADeliveryCarriesTheSignedBodyAndEveryHeader(t *testing.T) {
	requests := make(chan received, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- received{r.Method, r.URL.Path, r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	})
	m := testMessage("ev_1")
	secrets := [][]byte{newSecret, oldSecret}
	res := localClient(time.Second).Deliver(context.Background(), webhook.Target{URL: srv.URL + "/hooks", Secrets: secrets}, m, epoch)
	if !res.OK() || res.Err != nil || res.Status != http.StatusNoContent {
		t.Fatalf("Deliver = %+v, want 204 accepted", res)
	}
	got := <-requests
	if got.method != http.MethodPost || got.path != "/hooks" || string(got.body) != string(m.Body) {
		t.Fatalf("server got %s %s %q", got.method, got.path, got.body)
	}
	for name, want := range map[string]string{
		"Content-Type":     "application/json",
		"User-Agent":       "wxchannel-webhooks/1",
		"X-Wxc-Event-Id":   "ev_1",
		"X-Wxc-Event-Type": "work_order.created",
		"X-Wxc-Timestamp":  "1700000000",
		"X-Wxc-Signature":  webhook.SignatureHeader(secrets, vectorTimestamp, m.Body),
	} {
		if g := got.header.Values(name); len(g) != 1 || g[0] != want {
			t.Errorf("%s = %q, want %q", name, g, want)
		}
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v", res.Duration)
	}
}

func TestTheReceiverVerifiesWithEitherSecretDuringARotation(t *testing.T) {
	rcv, srv, c := setup(t)
	rcv.SetSecrets(oldSecret)
	res := c.Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret, oldSecret}}, testMessage("ev_1"), epoch)
	if !res.OK() || res.Snippet != `{"received":true}` {
		t.Fatalf("Deliver = %+v", res)
	}
	d := rcv.Deliveries()
	if len(d) != 1 || !d[0].Verified || d[0].EventID != "ev_1" || d[0].Status != http.StatusOK {
		t.Fatalf("receiver recorded %+v", d)
	}
}

func TestADeliveryNeedsASecret(t *testing.T) {
	rcv, srv, c := setup(t)
	for _, secrets := range [][][]byte{nil, {newSecret, {}}} {
		res := c.Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: secrets}, testMessage("ev_1"), epoch)
		if res.OK() || !errors.Is(res.Err, webhook.ErrNoSecret) || res.Status != 0 {
			t.Fatalf("Deliver with secrets %q = %+v, want ErrNoSecret", secrets, res)
		}
	}
	if n := len(rcv.Deliveries()); n != 0 {
		t.Fatalf("the receiver got %d deliveries", n)
	}
}

func TestPlainHTTPIsRefusedWithoutAllowPrivate(t *testing.T) {
	rcv, srv, _ := setup(t)
	c := webhook.NewClient(webhook.ClientOptions{Timeout: time.Second})
	res := c.Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret}}, testMessage("ev_1"), epoch)
	if res.OK() || res.Err == nil || res.Status != 0 || !strings.Contains(res.Err.Error(), "https://") {
		t.Fatalf("Deliver over http = %+v, want refused for its scheme", res)
	}
	if n := len(rcv.Deliveries()); n != 0 {
		t.Fatalf("the receiver got %d deliveries", n)
	}
}

// TestTheDialGuardRefusesANameThatResolvesToLoopback stands for DNS
// rebinding: "localhost" passes the delivery's URL check (there, names are
// not judged: their addresses are, when dialling) and resolves to
// loopback, where the server listens. The server speaks TLS, so nothing but
// the dial guard stands in the way.
func TestTheDialGuardRefusesANameThatResolvesToLoopback(t *testing.T) {
	var hits atomic.Int32
	count := func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(count))
	t.Cleanup(tlsServer.Close)
	guarded := webhook.NewClient(webhook.ClientOptions{Timeout: time.Second})
	for _, url := range []string{strings.Replace(tlsServer.URL, "127.0.0.1", "localhost", 1), tlsServer.URL} {
		res := guarded.Deliver(context.Background(), webhook.Target{URL: url, Secrets: [][]byte{newSecret}}, testMessage("ev_1"), epoch)
		if res.OK() || res.Status != 0 || !errors.Is(res.Err, webhook.ErrForbiddenAddress) {
			t.Fatalf("Deliver to %s = %+v, want refused when dialling", url, res)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the server was reached %d times", hits.Load())
	}

	// AllowPrivate lets the same name through (over http: the test
	// server's certificate is not one the client trusts).
	plain := serve(t, count)
	byName := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
	res := localClient(time.Second).Deliver(context.Background(), webhook.Target{URL: byName, Secrets: [][]byte{newSecret}}, testMessage("ev_1"), epoch)
	if !res.OK() || hits.Load() != 1 {
		t.Fatalf("Deliver with AllowPrivate = %+v, server hits %d", res, hits.Load())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	elsewhere := serve(t, func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, elsewhere.URL, status) })
		res := localClient(time.Second).Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret}},
			testMessage("ev_1"), epoch)
		if res.OK() || res.Status != status || res.Err != nil {
			t.Errorf("Deliver answered %d = %+v, want a failure with the status", status, res)
		}
	}
	if followed.Load() != 0 {
		t.Fatalf("a redirect was followed %d times", followed.Load())
	}
}

func TestEveryAnswerButTwoHundredsIsAFailureWithItsStatus(t *testing.T) {
	rcv, srv, c := setup(t)
	target := webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret}}
	rcv.FailEvents(func(id string, _ []byte) int {
		if id == "ev_conflict" {
			return http.StatusConflict
		}
		return 0
	})
	for id, want := range map[string]int{"ev_ok": http.StatusOK, "ev_conflict": http.StatusConflict} {
		res := c.Deliver(context.Background(), target, testMessage(id), epoch)
		if res.Status != want || res.OK() != (want == http.StatusOK) || res.Err != nil {
			t.Errorf("Deliver(%s) = %+v, want status %d", id, res, want)
		}
	}
	rcv.SetDown(true)
	res := c.Deliver(context.Background(), target, testMessage("ev_ok"), epoch)
	if res.OK() || res.Status != http.StatusServiceUnavailable || res.Err != nil || res.Snippet != "Service Unavailable" {
		t.Fatalf("Deliver to a receiver that is down = %+v", res)
	}
	// Signed with a secret the receiver does not hold: refused as a CRM would.
	rcv.SetDown(false)
	res = c.Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{oldSecret}}, testMessage("ev_ok"), epoch)
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("Deliver with the wrong secret = %+v, want 401", res)
	}
}

func TestNoAnswerInTimeIsATimeoutWithoutStatus(t *testing.T) {
	rcv, srv, _ := setup(t)
	rcv.SetDelay(time.Minute)
	res := localClient(50*time.Millisecond).Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret}},
		testMessage("ev_1"), epoch)
	if res.OK() || res.Status != 0 || !errors.Is(res.Err, webhook.ErrTimeout) {
		t.Fatalf("Deliver = %+v, want a timeout", res)
	}
}

func TestNetworkFailuresHaveNoStatusAndNoURL(t *testing.T) {
	srv := serve(t, func(http.ResponseWriter, *http.Request) {})
	url := srv.URL + "/hooks?token=tenant-token-in-the-url"
	srv.Close()
	res := localClient(time.Second).Deliver(context.Background(), webhook.Target{URL: url, Secrets: [][]byte{newSecret}}, testMessage("ev_1"), epoch)
	if res.OK() || res.Status != 0 || res.Err == nil {
		t.Fatalf("Deliver to a closed port = %+v, want a network failure", res)
	}
	if strings.Contains(res.Err.Error(), "tenant-token-in-the-url") {
		t.Fatalf("the error repeats the URL: %v", res.Err)
	}
}

func TestTheSnippetIsShortPrintableAndWhole(t *testing.T) {
	tests := []struct {
		name, answer, want string
	}{
		{"short", `{"ok":false,"error":"unknown tenant"}`, `{"ok":false,"error":"unknown tenant"}`},
		{"control characters and white space", "line one\r\n\tline two\x00\x1b[31m red", "line one line two [31m red"},
		{"not UTF-8", "bad \xff\xfe bytes", "bad ?? bytes"},
		{"bidi override", "abc\u202edef", "abc def"},
		{"long", strings.Repeat("x", 10<<10), strings.Repeat("x", webhook.MaxSnippetBytes)},
		{"long multibyte", strings.Repeat("é", 200), strings.Repeat("é", webhook.MaxSnippetBytes/2)},
		{"multibyte across the cap", "x" + strings.Repeat("é", 200), "x" + strings.Repeat("é", (webhook.MaxSnippetBytes-1)/2)},
	}
	for _, tt := range tests {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, tt.answer)
		})
		res := localClient(time.Second).Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: [][]byte{newSecret}},
			testMessage("ev_1"), epoch)
		if res.Snippet != tt.want || len(res.Snippet) > webhook.MaxSnippetBytes || !utf8.ValidString(res.Snippet) {
			t.Errorf("%s: Snippet = %q, want %q", tt.name, res.Snippet, tt.want)
		}
	}
}

// endlessBody is a response body that never ends, counting what is read.
type endlessBody struct{ read atomic.Int64 }

func (b *endlessBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	b.read.Add(int64(len(p)))
	return len(p), nil
}

func (b *endlessBody) Close() error { return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAtMostFourKiBOfTheAnswerIsRead(t *testing.T) {
	body := &endlessBody{}
	c := webhook.NewClient(webhook.ClientOptions{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: body, Request: r}, nil
	})})
	res := c.Deliver(context.Background(), webhook.Target{URL: "https://crm.example.com/hooks", Secrets: [][]byte{newSecret}},
		testMessage("ev_1"), epoch)
	if !res.OK() {
		t.Fatalf("Deliver = %+v", res)
	}
	if n := body.read.Load(); n > webhook.MaxResponseBytes {
		t.Fatalf("read %d bytes of the answer, want at most %d", n, webhook.MaxResponseBytes)
	}
}
