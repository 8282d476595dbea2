package loopback

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Latency is a delay a stand-in adds to every request it serves, so
// benchmarks can measure code against a real round trip rather than
// loopback's. Each request sleeps on its own: concurrent requests are
// delayed together, as on a network. The zero value adds none.
type Latency struct{ d atomic.Int64 }

// Set sets the delay (0 or less: none).
func (l *Latency) Set(d time.Duration) { l.d.Store(int64(max(d, 0))) }

// Get returns the delay.
func (l *Latency) Get() time.Duration { return time.Duration(l.d.Load()) }

// Wait waits out the delay before r is served; false when the client gave
// up meanwhile (the request is then dropped unserved, as one lost on the
// way would be).
func (l *Latency) Wait(r *http.Request) bool {
	d := l.Get()
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
