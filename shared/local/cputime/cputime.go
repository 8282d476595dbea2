// Package cputime measures CPU time: the whole process's, and the share of
// the in-process stand-ins for DynamoDB and WeChat, so that a benchmark can
// report the CPU our own code spends on a request without theirs.
package cputime

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Supported reports whether this platform can tell a thread's CPU time;
// where it cannot, Meter counts nothing.
func Supported() bool { return supported }

// Process returns the CPU time (user and system) the process has used.
func Process() time.Duration { return processCPU() }

// Meter adds up the CPU time of the requests a handler serves while it is
// on. Each metered request runs locked to its OS thread, so the thread's
// CPU time before and after is the request's own, whatever else runs
// meanwhile. Off, it costs one atomic load per request.
type Meter struct {
	on    atomic.Bool
	mu    sync.Mutex
	total time.Duration
}

// SetOn turns metering on or off.
func (m *Meter) SetOn(on bool) { m.on.Store(on) }

// Total is the CPU time metered since the last Reset.
func (m *Meter) Total() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// Reset zeroes the total.
func (m *Meter) Reset() {
	m.mu.Lock()
	m.total = 0
	m.mu.Unlock()
}

// Wrap meters h.
func (m *Meter) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.on.Load() || !supported {
			h.ServeHTTP(w, r)
			return
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		h.ServeHTTP(w, r)
		used := threadCPU() - start
		m.mu.Lock()
		m.total += used
		m.mu.Unlock()
	})
}
