package dynamoserver

import (
	"net/http"
	"sync/atomic"
	"time"
)

// latency is the delay added to every request, as nanoseconds (0: none).
type latency struct{ d atomic.Int64 }

// SetLatency delays every request by d before it is served (0, the
// default, turns the delay off), so benchmarks can measure code against
// DynamoDB's round trip in a region rather than loopback's. Each request
// sleeps on its own: concurrent requests are delayed together, not one
// after the other, as on a network. The delay is not CPU (CPU excludes
// it) but it is storage time: Busy includes it.
func (s *Server) SetLatency(d time.Duration) { s.latency.d.Store(int64(max(d, 0))) }

// Latency returns the delay SetLatency set.
func (s *Server) Latency() time.Duration { return time.Duration(s.latency.d.Load()) }

// delay waits out the latency before a request is served; false when the
// client gave up meanwhile (the request is then dropped unserved, as one
// lost on the way would be).
func (l *latency) delay(r *http.Request) bool {
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
