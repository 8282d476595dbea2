package wechatsim

import (
	"time"
)

// SetLatency delays every API call by d before it is answered (0, the
// default, turns the delay off), so benchmarks can measure code against
// WeChat's round trip rather than loopback's. Each call sleeps on its
// own: concurrent calls are delayed together, not one after the other.
// A delay InjectDelay adds for one API comes on top. The delay is not
// CPU: a metered call's thread sleeps, so CPU excludes it.
func (s *Sim) SetLatency(d time.Duration) { s.latency.Set(d) }

// Latency returns the delay SetLatency set.
func (s *Sim) Latency() time.Duration { return s.latency.Get() }
