package dynamoserver

import (
	"time"
)

// SetLatency delays every request by d before it is served (0, the
// default, turns the delay off), so benchmarks can measure code against
// DynamoDB's round trip in a region rather than loopback's. Each request
// sleeps on its own: concurrent requests are delayed together, not one
// after the other, as on a network. The delay is not CPU (CPU excludes
// it) but it is storage time: Busy includes it.
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// Latency returns the delay SetLatency set.
func (s *Server) Latency() time.Duration { return s.latency.Get() }
