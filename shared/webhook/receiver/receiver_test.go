package receiver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/webhook"
	"wxchannel/shared/webhook/receiver"
)

var (
	secret = []byte("whsec_receiver_test_secret_0123456789")
	epoch  = time.Unix(1700000000, 0)
)

// setup returns a receiver verifying with secret on the test clock.
func setup(t *testing.T) *receiver.Receiver {
	t.Helper()
	r := receiver.New(secret)
	r.SetClock(func() time.Time { return epoch })
	return r
}

// post delivers event id to h, signed with secrets at ts, and returns the
// status answered.
func post(t *testing.T, h http.Handler, id string, ts time.Time, secrets ...[]byte) int {
	t.Helper()
	body := []byte(`{"id":"` + id + `"}`)
	req := httptest.NewRequest(http.MethodPost, "/dev/webhook", bytes.NewReader(body))
	req.Header.Set(webhook.HeaderEventID, id)
	req.Header.Set(webhook.HeaderEventType, "work_order.updated")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(secrets) > 0 {
		req.Header.Set(webhook.HeaderSignature, webhook.SignatureHeader(secrets, ts.Unix(), body))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func TestTheReceiverAcceptsOnlyDeliveriesItCanVerify(t *testing.T) {
	r := setup(t)
	other := []byte("whsec_some_other_secret_0123456789")
	tests := []struct {
		name     string
		ts       time.Time
		secrets  [][]byte
		status   int
		verified bool
	}{
		{"signed with its secret", epoch, [][]byte{secret}, http.StatusOK, true},
		{"signed during a rotation", epoch, [][]byte{other, secret}, http.StatusOK, true},
		{"signed with another secret", epoch, [][]byte{other}, http.StatusUnauthorized, false},
		{"unsigned", epoch, nil, http.StatusUnauthorized, false},
		{"signed ten minutes ago", epoch.Add(-10 * time.Minute), [][]byte{secret}, http.StatusUnauthorized, false},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("ev_%d", i)
		if got := post(t, r, id, tt.ts, tt.secrets...); got != tt.status {
			t.Errorf("%s: answered %d, want %d", tt.name, got, tt.status)
		}
		d := r.Deliveries()[0]
		if d.EventID != id || d.EventType != "work_order.updated" || d.Verified != tt.verified || d.Status != tt.status ||
			string(d.Body) != `{"id":"`+id+`"}` || !d.At.Equal(epoch) || (d.VerifyError == "") != tt.verified {
			t.Errorf("%s: recorded %+v", tt.name, d)
		}
	}
}

func TestWithoutSecretsTheReceiverAcceptsEverythingUnverified(t *testing.T) {
	r := receiver.New()
	if got := post(t, r, "ev_1", epoch); got != http.StatusOK {
		t.Fatalf("answered %d", got)
	}
	if d := r.Deliveries()[0]; d.Verified {
		t.Fatalf("recorded %+v as verified", d)
	}
	r.SetSecrets(secret)
	if got := post(t, r, "ev_2", time.Now()); got != http.StatusUnauthorized {
		t.Fatalf("with a secret set, an unsigned delivery was answered %d", got)
	}
}

func TestTheReceiverFailsAsItIsTold(t *testing.T) {
	r := setup(t)
	r.FailEvents(func(id string, body []byte) int {
		switch id {
		case "ev_gone":
			return http.StatusGone
		case "ev_nonsense":
			return 42
		}
		return 0
	})
	for id, want := range map[string]int{"ev_fine": http.StatusOK, "ev_gone": http.StatusGone, "ev_nonsense": http.StatusInternalServerError} {
		if got := post(t, r, id, epoch, secret); got != want {
			t.Errorf("%s: answered %d, want %d", id, got, want)
		}
	}
	r.SetDown(true)
	if got := post(t, r, "ev_fine", epoch, secret); got != http.StatusServiceUnavailable {
		t.Errorf("down: answered %d", got)
	}
	if d := r.Deliveries()[0]; d.Status != http.StatusServiceUnavailable || !d.Verified {
		t.Errorf("down: recorded %+v", d)
	}
	r.SetDown(false)
	if got := post(t, r, "ev_fine", epoch, secret); got != http.StatusOK {
		t.Errorf("back up: answered %d", got)
	}
	r.Reset()
	if got := post(t, r, "ev_gone", epoch, secret); got != http.StatusOK || len(r.Deliveries()) != 1 {
		t.Errorf("after Reset: answered %d with %d deliveries kept", got, len(r.Deliveries()))
	}
}

func TestASenderThatGivesUpDuringTheDelayIsRecordedUnanswered(t *testing.T) {
	r := setup(t)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.SetDelay(time.Minute)
	c := webhook.NewClient(webhook.ClientOptions{Timeout: 50 * time.Millisecond, AllowPrivate: true})
	res := c.Deliver(t.Context(), webhook.Target{URL: srv.URL, Secrets: [][]byte{secret}}, webhook.Message{ID: "ev_slow", Body: []byte("{}")}, epoch)
	if res.OK() {
		t.Fatalf("Deliver = %+v, want a timeout", res)
	}
	srv.Close() // waits for the handler, which returns once it sees the sender gone
	d := r.Deliveries()
	if len(d) != 1 || d[0].EventID != "ev_slow" || d[0].Status != 0 {
		t.Fatalf("recorded %+v, want one unanswered delivery", d)
	}
}

func TestGETListsDeliveriesNewestFirstAndKeepsFiveHundred(t *testing.T) {
	r := setup(t)
	for i := range receiver.MaxKept + 20 {
		post(t, r, fmt.Sprintf("ev_%d", i), epoch, secret)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/dev/webhook", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET answered %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var list struct {
		Deliveries []struct {
			EventID  string          `json:"event_id"`
			Body     json.RawMessage `json:"body"`
			Verified bool            `json:"verified"`
			Status   int             `json:"status"`
		} `json:"deliveries"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	got := list.Deliveries
	if len(got) != receiver.MaxKept {
		t.Fatalf("listed %d deliveries, want %d", len(got), receiver.MaxKept)
	}
	newest, oldest := fmt.Sprintf("ev_%d", receiver.MaxKept+19), "ev_20"
	if got[0].EventID != newest || got[len(got)-1].EventID != oldest {
		t.Fatalf("listed %s … %s, want %s … %s", got[0].EventID, got[len(got)-1].EventID, newest, oldest)
	}
	if string(got[0].Body) != `{"id":"`+newest+`"}` || !got[0].Verified || got[0].Status != http.StatusOK {
		t.Fatalf("listed %+v", got[0])
	}
}

func TestOtherMethodsAreNotAllowed(t *testing.T) {
	w := httptest.NewRecorder()
	setup(t).ServeHTTP(w, httptest.NewRequest(http.MethodDelete, "/dev/webhook", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
		t.Fatalf("DELETE answered %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestAnOversizedBodyIsRefusedAndRecorded(t *testing.T) {
	r := setup(t)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/dev/webhook", bytes.NewReader(make([]byte, receiver.MaxBodyBytes+1))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("answered %d", w.Code)
	}
	if d := r.Deliveries(); len(d) != 1 || d[0].Status != http.StatusRequestEntityTooLarge || d[0].Body != nil {
		t.Fatalf("recorded %+v", d)
	}
}

// TestTheReceiverIsSafeForConcurrentUse is for the race detector.
func TestTheReceiverIsSafeForConcurrentUse(t *testing.T) {
	r := setup(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				post(t, r, fmt.Sprintf("ev_%d_%d", i, j), epoch, secret)
				_ = r.Deliveries()
			}
		})
	}
	wg.Go(func() {
		for j := range 50 {
			r.SetDown(j%2 == 0)
			r.SetSecrets(secret)
			r.FailEvents(nil)
			r.SetDelay(0)
		}
	})
	wg.Wait()
	r.SetDown(false)
	if got := post(t, r, "ev_last", epoch, secret); got != http.StatusOK {
		t.Fatalf("answered %d", got)
	}
}
