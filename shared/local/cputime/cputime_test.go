package cputime_test

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wxchannel/shared/local/cputime"
)

// TestMeterCountsWorkNotWaiting: a request that computes is metered with
// CPU time no larger than the whole process used meanwhile; a request that
// only waits is metered with far less; a meter that is off counts nothing.
func TestMeterCountsWorkNotWaiting(t *testing.T) {
	if !cputime.Supported() {
		t.Skip("thread CPU time is read on Linux only")
	}
	var m cputime.Meter
	work := m.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		sum := sha256.Sum256(nil)
		for range 200_000 {
			sum = sha256.Sum256(sum[:])
		}
	}))
	wait := m.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(50 * time.Millisecond) }))
	serve := func(h http.Handler) time.Duration {
		m.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		return m.Total()
	}

	if got := serve(work); got != 0 {
		t.Fatalf("a meter that is off counted %v", got)
	}
	m.SetOn(true)
	before := cputime.Process()
	worked := serve(work)
	process := cputime.Process() - before
	if worked <= 0 || worked > process {
		t.Fatalf("metered %v for the work, the process used %v", worked, process)
	}
	if waited := serve(wait); waited*10 > worked {
		t.Fatalf("metered %v for waiting against %v for work", waited, worked)
	}
}
