package dynamoserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"wxchannel/shared/local/cputime"
)

// describe is a DynamoDB request as the SDK sends it (DescribeTable of a
// table that does not exist: cheap, and answered whatever the tables).
func describe() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"TableName":"missing"}`))
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	return r
}

// In a synctest bubble time moves only when every goroutine waits, so the
// elapsed time is exact: 20 requests delayed together take one latency,
// where requests delayed one after the other would take twenty.
func TestLatencyDelaysConcurrentRequestsTogether(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	const d = 50 * time.Millisecond
	srv.SetLatency(d)
	srv.MeterCPU(true)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				rec := httptest.NewRecorder()
				srv.timed(rec, describe())
				if rec.Code != http.StatusBadRequest { // ResourceNotFoundException
					t.Errorf("status %d: %s", rec.Code, rec.Body)
				}
			})
		}
		wg.Wait()
		if got := time.Since(start); got != d {
			t.Fatalf("20 concurrent requests took %v, want one latency (%v)", got, d)
		}
		// Busy is storage time: the latency is in it, concurrent requests once.
		if got := srv.Busy(); got != d {
			t.Fatalf("busy %v, want %v", got, d)
		}
	})
	// The latency is not CPU.
	if cputime.Supported() && srv.CPU() >= d {
		t.Fatalf("CPU %v counts the latency", srv.CPU())
	}
	if got := srv.Calls()["DescribeTable"]; got != 20 {
		t.Fatalf("%d calls counted, want 20", got)
	}
}

func TestLatencyOffServesAtOnceAndAGivenUpRequestIsDropped(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	synctest.Test(t, func(t *testing.T) {
		srv.SetLatency(time.Second)
		srv.SetLatency(0)
		start := time.Now()
		srv.timed(httptest.NewRecorder(), describe())
		if got := time.Since(start); got != 0 || srv.Latency() != 0 {
			t.Fatalf("with the latency off a request took %v", got)
		}
		// A client that gives up while its request is delayed: the request
		// is never served.
		srv.SetLatency(time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		srv.timed(rec, describe().WithContext(ctx))
		if got := srv.Calls()["DescribeTable"]; got != 1 {
			t.Fatalf("%d requests served, want only the first", got)
		}
	})
}
