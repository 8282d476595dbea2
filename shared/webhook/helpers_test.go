package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"wxchannel/shared/webhook"
	"wxchannel/shared/webhook/receiver"
)

// The fixed vector: docs/webhooks.md and openssl agree on it.
const (
	vectorSecret    = "whsec_test"
	vectorTimestamp = 1700000000
	vectorBody      = `{"id":"ev_1"}`
	vectorSignature = "0ef8441954c7c510c78f6c063ddfba5a6f746285701338504e3a77d1811f2fa6"
)

var (
	newSecret = []byte("whsec_new_secret_for_tests_0123456789")
	oldSecret = []byte("whsec_old_secret_for_tests_0123456789")
	// epoch is the clock of every test: deliveries are signed at it and
	// the receiver checks them against it.
	epoch = time.Unix(vectorTimestamp, 0)
)

func testMessage(id string) webhook.Message {
	return webhook.Message{ID: id, Type: "work_order.created", Body: []byte(`{"id":"` + id + `","type":"work_order.created"}`)}
}

// setup starts a receiver verifying with newSecret on a loopback server and
// returns it with a client allowed to reach it.
func setup(t *testing.T) (*receiver.Receiver, *httptest.Server, *webhook.Client) {
	t.Helper()
	rcv := receiver.New(newSecret)
	rcv.SetClock(func() time.Time { return epoch })
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	return rcv, srv, localClient(time.Second)
}

// localClient is a client for loopback servers: http and private
// addresses allowed.
func localClient(timeout time.Duration) *webhook.Client {
	return webhook.NewClient(webhook.ClientOptions{Timeout: timeout, AllowPrivate: true})
}

// serve starts a loopback server answering with h.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// signedHeader returns the headers of a delivery of body signed at ts.
func signedHeader(secrets [][]byte, ts int64, body []byte) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(webhook.HeaderSignature, webhook.SignatureHeader(secrets, ts, body))
	return h
}
