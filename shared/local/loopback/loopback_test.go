package loopback_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"wxchannel/shared/local/loopback"
)

// TestCloseFinishesRequestsAndDropsUnusedConnections: a connection that
// never sent a request does not hold Close up (Shutdown alone would wait
// for it), while a request under way still gets its answer.
func TestCloseFinishesRequestsAndDropsUnusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	s := loopback.Start(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	}))
	idle, err := net.Dial("tcp", ln.Addr().String()) // dialled, never used
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// The unused connection is closed by the server: reading it meets
	// the end of the stream, not the deadline.
	_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("reading the unused connection: %v, want EOF", err)
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Fatalf("the request under way got %q", got)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-s.Done(); err != nil {
		t.Fatalf("done: %v", err)
	}
}
