// Package loopback runs the loopback HTTP servers of local runs and
// tests — the dev server, the embedded DynamoDB server, the WeChat
// simulator — and stops them without waiting on connections that never
// carried a request.
package loopback

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves a handler on a listener until Close.
type Server struct {
	srv  *http.Server
	done chan error

	mu sync.Mutex
	// unused holds connections that have not sent a request yet: clients
	// dial ahead and may send on another connection, and Shutdown waits
	// seconds before it treats such a connection as idle.
	unused map[net.Conn]struct{}
}

// Start serves h on ln in the background.
func Start(ln net.Listener, h http.Handler) *Server {
	s := &Server{done: make(chan error, 1), unused: map[net.Conn]struct{}{}}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ConnState: s.track}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// Done delivers the end of serving: nil after Close, the error if the
// server failed.
func (s *Server) Done() <-chan error { return s.done }

func (s *Server) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateNew {
		s.unused[c] = struct{}{}
		return
	}
	delete(s.unused, c)
}

// Close stops the server: requests under way may finish for up to two
// seconds, connections that never carried one are closed at once.
func (s *Server) Close() error {
	s.srv.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	for c := range s.unused {
		_ = c.Close()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}
