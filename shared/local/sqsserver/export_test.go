package sqsserver

import "time"

// LongPollers is how many receives are waiting in a long poll.
func (s *Server) LongPollers() int { return int(s.longPollers.Load()) }

// SetRecheck sets how often a waiting long poll looks at its queue again by
// itself, so a test can tell a wake-up by a send from a recheck.
func (s *Server) SetRecheck(d time.Duration) { s.recheck.Store(int64(d)) }
