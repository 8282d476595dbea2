package sqsserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Identity of the server's queues: their ARNs are in this region's
// partition and this account; clients sign with these dummy credentials.
const (
	Region          = "cn-north-1"
	AccountID       = "000000000000"
	AccessKeyID     = "local"
	SecretAccessKey = "local"
	partition       = "aws-cn"
)

// recheckInterval bounds how long a long poll sleeps before it looks at the
// queue again by itself: a send or a visibility change wakes it at once, a
// visibility timeout or delay that ends (by the clock, which may be a
// test's) is noticed within this interval.
const recheckInterval = 100 * time.Millisecond

// Server is an SQS-compatible server on a loopback address.
type Server struct {
	url     string
	http    *http.Server
	served  chan error
	closing chan struct{}
	closed  sync.Once
	ops     map[string]operation
	recheck atomic.Int64 // a time.Duration

	mu     sync.Mutex
	clock  func() time.Time
	queues map[string]*queue // by name
	// wake is closed, and replaced, whenever a message may have become
	// receivable; long polls wait on it.
	wake chan struct{}

	longPollers atomic.Int32 // requests waiting in a long poll
}

// Start listens on a free loopback port and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{url: "http://" + ln.Addr().String(), served: make(chan error, 1), closing: make(chan struct{}),
		clock: time.Now, queues: map[string]*queue{}, wake: make(chan struct{})}
	s.ops = s.operations()
	s.recheck.Store(int64(recheckInterval))
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	return s, nil
}

// Close ends pending long polls and stops the server.
func (s *Server) Close() error {
	var err error
	s.closed.Do(func() {
		close(s.closing)
		err = s.http.Close()
		if served := <-s.served; err == nil {
			err = served
		}
	})
	return err
}

// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// NewClient returns the real SQS client pointed at the server, with dummy
// static credentials and the server's region; optFns adjust its options
// (retries, HTTP client) as with sqs.New.
func (s *Server) NewClient(optFns ...func(*sqs.Options)) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}, optFns...)
}

// SetClock sets the clock that drives visibility timeouts, delays,
// retention, deduplication windows and timestamps (time.Now by default),
// so a test can let a day pass. How long a long poll waits stays real time.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
	s.wakeLocked()
}

// wakeLocked wakes every long poll to look at its queue again.
func (s *Server) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// queueLocked resolves a queue URL: SQS's form is .../<account>/<name>, and
// the name decides. Every queue is brought up to date with the clock first.
func (s *Server) queueLocked(queueURL string) (*queue, time.Time, *apiError) {
	now := s.clock()
	if queueURL == "" {
		return nil, now, missing("QueueUrl")
	}
	q := s.queues[queueNameOf(queueURL)]
	if q == nil {
		return nil, now, queueDoesNotExist()
	}
	q.expire(now)
	return q, now, nil
}

// deadLetterQueueLocked is q's dead-letter queue, nil without a redrive
// policy or when the target has since been deleted.
func (s *Server) deadLetterQueueLocked(q *queue, now time.Time) *queue {
	if q.config.redrive == nil {
		return nil
	}
	dlq := s.queues[queueNameOf(q.config.redrive.deadLetterTargetArn)]
	if dlq != nil {
		dlq.expire(now)
	}
	return dlq
}

func (s *Server) queueARN(name string) string {
	return "arn:" + partition + ":sqs:" + Region + ":" + AccountID + ":" + name
}

func (s *Server) queueURL(name string) string { return s.url + "/" + AccountID + "/" + name }
