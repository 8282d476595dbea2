package wechatsim

import (
	"net/http"
	"sync/atomic"
	"time"
)

// latency is the delay added to every API call, as nanoseconds (0: none).
type latency struct{ d atomic.Int64 }

// SetLatency delays every API call by d before it is answered (0, the
// default, turns the delay off), so benchmarks can measure code against
// WeChat's round trip rather than loopback's. Each call sleeps on its
// own: concurrent calls are delayed together, not one after the other.
// A delay InjectDelay adds for one API comes on top. The delay is not
// CPU: a metered call's thread sleeps, so CPU excludes it.
func (s *Sim) SetLatency(d time.Duration) { s.latency.d.Store(int64(max(d, 0))) }

// Latency returns the delay SetLatency set.
func (s *Sim) Latency() time.Duration { return time.Duration(s.latency.d.Load()) }

// wait waits out the latency; false when the caller gave up meanwhile.
func (l *latency) wait(r *http.Request) bool {
	d := time.Duration(l.d.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
