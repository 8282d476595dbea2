// Package receiver is a tenant's webhook endpoint for tests and the dev
// server: it verifies signatures as a CRM following docs/webhooks.md would,
// records every delivery, and can be told to fail. It is not shipped.
package receiver

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"wxchannel/shared/local/loopback"
	"wxchannel/shared/webhook"
)

// Limits of what a receiver keeps.
const (
	MaxKept      = 500     // deliveries recorded; the oldest are dropped
	MaxBodyBytes = 1 << 20 // a larger body is answered 413 and recorded unread
)

// Delivery is one request the receiver answered.
type Delivery struct {
	At        time.Time
	EventID   string
	EventType string
	Body      []byte
	// Verified reports whether the signature matched one of the secrets
	// within webhook.Tolerance; VerifyError says why not.
	Verified    bool
	VerifyError string
	// Status is what the receiver answered; 0 when the sender gave up
	// during the delay.
	Status int
}

// Receiver is an http.Handler: POST delivers an event, GET lists the
// deliveries as JSON, newest first. It is safe for concurrent use.
//
// Without secrets every delivery is accepted unverified; with secrets, one
// that fails verification is answered 401, as a CRM would.
type Receiver struct {
	delay loopback.Latency

	mu         sync.Mutex
	secrets    [][]byte
	now        func() time.Time
	down       bool
	failEvents func(id string, body []byte) int
	deliveries []Delivery // oldest first
}

// New returns a receiver verifying with secrets.
func New(secrets ...[]byte) *Receiver {
	r := &Receiver{now: time.Now}
	r.SetSecrets(secrets...)
	return r
}

// SetSecrets replaces the secrets deliveries are verified with.
func (r *Receiver) SetSecrets(secrets ...[]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = slices.Clone(secrets)
}

// SetClock sets the clock timestamps are checked against and deliveries
// are recorded at (default time.Now).
func (r *Receiver) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// SetDown makes the receiver answer every delivery 503 while down.
func (r *Receiver) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// FailEvents sets a function choosing the status for each verified
// delivery: 0 accepts it (200), anything else is answered as is (a status
// outside 200–599 is answered 500). nil accepts every delivery.
func (r *Receiver) FailEvents(status func(id string, body []byte) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failEvents = status
}

// SetDelay makes the receiver wait d before answering (0: none).
func (r *Receiver) SetDelay(d time.Duration) { r.delay.Set(d) }

// Deliveries returns the recorded deliveries, newest first.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.deliveries)
	slices.Reverse(out)
	return out
}

// Reset forgets the deliveries and every failure mode; the secrets and the
// clock stay.
func (r *Receiver) Reset() {
	r.mu.Lock()
	r.deliveries, r.down, r.failEvents = nil, false, nil
	r.mu.Unlock()
	r.delay.Set(0)
}

// ServeHTTP records a POSTed delivery and answers it, or lists the
// deliveries on GET.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
		r.handleDelivery(w, req)
	case http.MethodGet, http.MethodHead:
		r.handleList(w)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "use POST to deliver an event, GET to list deliveries", http.StatusMethodNotAllowed)
	}
}

func (r *Receiver) handleDelivery(w http.ResponseWriter, req *http.Request) {
	d := Delivery{EventID: req.Header.Get(webhook.HeaderEventID), EventType: req.Header.Get(webhook.HeaderEventType)}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		d.Status = http.StatusRequestEntityTooLarge
		d.VerifyError = "body not read: " + err.Error()
		r.record(d)
		http.Error(w, "body too large", d.Status)
		return
	}
	d.Body = body
	if !r.delay.Wait(req) {
		r.record(d) // the sender gave up: nothing was answered
		return
	}
	d.Status = r.judge(&d, req.Header)
	r.record(d)
	if d.Status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(d.Status)
		_, _ = io.WriteString(w, `{"received":true}`)
		return
	}
	http.Error(w, http.StatusText(d.Status), d.Status)
}

// judge verifies d and returns the status to answer it with.
func (r *Receiver) judge(d *Delivery, h http.Header) int {
	r.mu.Lock()
	secrets, now, down, failEvents := r.secrets, r.now(), r.down, r.failEvents
	r.mu.Unlock()
	d.At = now
	if len(secrets) > 0 {
		if err := webhook.Verify(secrets, h, d.Body, now, webhook.Tolerance); err != nil {
			d.VerifyError = err.Error()
		} else {
			d.Verified = true
		}
	}
	switch {
	case down:
		return http.StatusServiceUnavailable
	case len(secrets) > 0 && !d.Verified:
		return http.StatusUnauthorized
	case failEvents == nil:
		return http.StatusOK
	}
	switch status := failEvents(d.EventID, d.Body); {
	case status == 0:
		return http.StatusOK
	case status < 200 || status > 599:
		return http.StatusInternalServerError
	default:
		return status
	}
}

func (r *Receiver) record(d Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d.At.IsZero() {
		d.At = r.now()
	}
	if len(r.deliveries) == MaxKept {
		r.deliveries = slices.Delete(r.deliveries, 0, 1)
	}
	r.deliveries = append(r.deliveries, d)
}

// deliveryJSON is a Delivery as GET lists it: a JSON body inline, any
// other body as a string.
type deliveryJSON struct {
	At          time.Time `json:"at"`
	EventID     string    `json:"event_id"`
	EventType   string    `json:"event_type"`
	Body        any       `json:"body"`
	Verified    bool      `json:"verified"`
	VerifyError string    `json:"verify_error,omitempty"`
	Status      int       `json:"status"`
}

func (r *Receiver) handleList(w http.ResponseWriter) {
	list := r.Deliveries()
	out := make([]deliveryJSON, len(list))
	for i, d := range list {
		var body any = string(d.Body)
		if json.Valid(d.Body) {
			body = json.RawMessage(d.Body)
		}
		out[i] = deliveryJSON{At: d.At, EventID: d.EventID, EventType: d.EventType, Body: body,
			Verified: d.Verified, VerifyError: d.VerifyError, Status: d.Status}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"deliveries": out})
}
