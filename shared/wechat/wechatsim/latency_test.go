package wechatsim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/wechat/wechatsim"
)

// tokenCall is an api_component_token call (answered with an error: the
// ticket is unknown; the latency comes first either way).
func tokenCall() *http.Request {
	return httptest.NewRequest(http.MethodPost, "/cgi-bin/component/api_component_token",
		strings.NewReader(`{"component_appid":"wxcomp","component_appsecret":"s","component_verify_ticket":"none"}`))
}

// In a synctest bubble time moves only when every goroutine waits, so the
// elapsed time is exact: 20 calls delayed together take one latency, where
// calls delayed one after the other would take twenty.
func TestLatencyDelaysConcurrentCallsTogether(t *testing.T) {
	sim, err := wechatsim.New(wechatsim.Options{ComponentAppID: "wxcomp", ComponentSecret: "s", Token: "tok", EncodingAESKey: key})
	if err != nil {
		t.Fatal(err)
	}
	const d = 50 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		sim.SetLatency(d)
		start := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { sim.Handler().ServeHTTP(httptest.NewRecorder(), tokenCall()) })
		}
		wg.Wait()
		if got := time.Since(start); got != d {
			t.Fatalf("20 concurrent calls took %v, want one latency (%v)", got, d)
		}
		// A delay injected for one API comes on top of the latency.
		sim.InjectDelay("api_component_token", 30*time.Millisecond, 1)
		start = time.Now()
		sim.Handler().ServeHTTP(httptest.NewRecorder(), tokenCall())
		if got := time.Since(start); got != d+30*time.Millisecond {
			t.Fatalf("a call with an injected delay took %v, want %v", got, d+30*time.Millisecond)
		}
		sim.SetLatency(0)
		start = time.Now()
		sim.Handler().ServeHTTP(httptest.NewRecorder(), tokenCall())
		if got := time.Since(start); got != 0 || sim.Latency() != 0 {
			t.Fatalf("with the latency off a call took %v", got)
		}
	})
	if got := sim.Calls("api_component_token"); got != 22 {
		t.Fatalf("%d calls counted, want 22", got)
	}
}

// Over HTTP, a call takes at least the latency, and the latency is not
// counted as the simulator's CPU.
func TestLatencyIsWaitedNotComputed(t *testing.T) {
	sim, c, _ := start(t)
	const d = 50 * time.Millisecond
	sim.SetLatency(d)
	sim.MeterCPU(true)
	begin := time.Now()
	if _, err := c.ComponentToken(t.Context(), sim.IssueTicket()); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(begin); got < d {
		t.Fatalf("a call took %v, less than the latency", got)
	}
	if cputime.Supported() && sim.CPU() >= d {
		t.Fatalf("CPU %v counts the latency", sim.CPU())
	}
}
