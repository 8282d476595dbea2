// Package dynamoserver runs an in-process DynamoDB-protocol server for the dev
// server and the tests: minidyn's server mode behind a compatibility layer
// (compat.go), so that the real AWS SDK and guregu/dynamo talk HTTP to it
// exactly as they talk to DynamoDB, and get DynamoDB's refusals where it
// matters: transaction conflicts, limits, sparse and lagging indexes
// (docs/local-dynamodb.md lists what is emulated and what is not).
package dynamoserver

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	miniserver "github.com/truora/minidyn/server"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/loopback"
)

// Server is an embedded DynamoDB-protocol server on a loopback address.
type Server struct {
	// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:41234.
	URL string

	mini    *miniserver.Server
	layer   *compat
	handler http.Handler
	metered http.Handler // handler, its CPU time metered when asked
	http    *loopback.Server

	mu        sync.Mutex
	calls     map[string]int
	busy      time.Duration
	busySince time.Time
	inflight  int
	cpu       cputime.Meter
	latency   loopback.Latency
}

// Start listens on a free loopback port.
func Start() (*Server, error) { return StartOn("127.0.0.1:0") }

// StartOn listens on addr (keep it on loopback).
func StartOn(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{mini: miniserver.NewServer(), calls: map[string]int{}}
	s.layer = newCompat(s.mini, miniserver.NewServer(), s.count)
	s.handler = s.layer
	s.metered = s.cpu.Wrap(s.handler)
	s.URL = "http://" + ln.Addr().String()
	s.http = loopback.Start(ln, http.HandlerFunc(s.timed))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.http.Close() }

// Handler is the compatibility-wrapped handler, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) count(op string) {
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
}

// timed serves a request and accounts the wall time during which at least
// one request was being served (concurrent requests count once), so
// benchmarks can tell our code's time from the storage's. The injected
// latency (SetLatency) is waited out here, inside that time and outside
// the CPU meter.
func (s *Server) timed(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.inflight == 0 {
		s.busySince = time.Now()
	}
	s.inflight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		if s.inflight == 0 {
			s.busy += time.Since(s.busySince)
		}
		s.mu.Unlock()
	}()
	if !s.latency.Wait(r) {
		return
	}
	s.metered.ServeHTTP(w, r)
}

// Busy returns the time spent serving requests since the last ResetCalls,
// the injected latency included.
func (s *Server) Busy() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

// MeterCPU turns on (or off) metering of the CPU time the server spends
// serving requests, for benchmarks; CPU returns it.
func (s *Server) MeterCPU(on bool) { s.cpu.SetOn(on) }

// CPU returns the CPU time spent serving requests since the last
// ResetCalls while metering was on.
func (s *Server) CPU() time.Duration { return s.cpu.Total() }

// Calls returns how many requests of each operation ("Query", "PutItem",
// ...) reached the server since the last ResetCalls.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	maps.Copy(out, s.calls)
	return out
}

// ResetCalls zeroes the counters: calls, busy and CPU time, and conflicts.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.busy = 0
	s.mu.Unlock()
	s.cpu.Reset()
	s.layer.conflictCount.Store(0)
}

// SetConflicts turns the emulation of DynamoDB's transaction conflicts on
// (the default) or off. Off, requests on an item a transaction holds wait
// for it instead of failing.
func (s *Server) SetConflicts(on bool) { s.layer.conflictsOff.Store(!on) }

// Conflicts returns how many requests the server refused because of a
// transaction conflict since the last ResetCalls: transactions cancelled
// (TransactWriteItems and TransactGetItems), single-item writes refused
// (TransactionConflictException) and BatchWriteItem requests left
// unprocessed.
func (s *Server) Conflicts() int { return int(s.layer.conflictCount.Load()) }

// SetTransactionHold makes every TransactWriteItems wait d after claiming
// its items and before it is applied, so that tests can overlap other
// requests with it. Setting the hold again (to 0, say) releases the
// transactions waiting in it.
func (s *Server) SetTransactionHold(d time.Duration) { s.layer.hold.set(d, nil) }

// HoldTransactionsOn is SetTransactionHold for the transactions with an
// action that match picks only (one item of interest in a product flow
// full of transactions).
func (s *Server) HoldTransactionsOn(d time.Duration, match func(HeldAction) bool) {
	s.layer.hold.set(d, match)
}

// InFlightTransactions returns how many TransactWriteItems have claimed
// their items and not yet been answered (those waiting in the hold
// included).
func (s *Server) InFlightTransactions() int { return int(s.layer.transactionsInFlight.Load()) }

// HeldTransactions returns how many transactions are waiting in the hold
// now: with HoldTransactionsOn, the ones its filter picked (others pass
// through the hold and are only in flight for a moment).
func (s *Server) HeldTransactions() int { return int(s.layer.hold.held.Load()) }

// SetClock sets the clock the index lag and the stream records are
// measured by (time.Now unless set), so tests can let time pass without
// waiting.
func (s *Server) SetClock(now func() time.Time) { s.layer.clock.Store(&now) }

// SetIndexLag makes queries and scans on global secondary indexes see the
// table as it stood d ago (0, the default, turns the lag off); see
// docs/local-dynamodb.md for exactly what is emulated.
func (s *Server) SetIndexLag(d time.Duration) {
	s.layer.lag.Store(int64(d))
	if d <= 0 {
		s.layer.history.reset()
	}
}

// EnableStream turns on a DynamoDB stream of view type NEW_AND_OLD_IMAGES
// for table and returns its ARN (enabling it again returns the same
// stream). From then on every write that changes an item of the table
// appends a record to the stream, kept 24 hours by the server's clock;
// tables without a stream keep nothing. docs/local-dynamodb.md says what
// is emulated.
func (s *Server) EnableStream(table string) (string, error) { return s.layer.enableStream(table) }

// StreamARN returns the ARN of table's stream, "" when it has none.
func (s *Server) StreamARN(table string) string { return s.layer.streamARNOf(table) }

// StreamRecords returns, in sequence order, up to maxRecords (every one
// when maxRecords <= 0) of table's stream records whose sequence number is
// greater than afterSeq ("": from the oldest kept), built as Lambda
// delivers them to a function. It returns nil when the table has no stream.
func (s *Server) StreamRecords(table, afterSeq string, maxRecords int) []events.DynamoDBEventRecord {
	return s.layer.streamRecords(table, afterSeq, maxRecords)
}

// WaitStream returns once table's stream holds a record whose sequence
// number is greater than afterSeq, ctx's error when ctx is done first, and
// ErrNoStream when the table has no stream.
func (s *Server) WaitStream(ctx context.Context, table, afterSeq string) error {
	return s.layer.waitStream(ctx, table, afterSeq)
}

// FailAll makes every operation fail with an internal server error (on) or
// work again (off).
func (s *Server) FailAll(on bool) {
	s.mini.EmulateFailure(condition(on))
}

// FailTable makes operations on one table (and its indexes) fail.
func (s *Server) FailTable(table string, on bool) {
	s.mini.EmulateFailureForTable(table, condition(on))
}

// FailIndex makes operations on one index of a table fail.
func (s *Server) FailIndex(table, index string, on bool) {
	s.mini.EmulateFailureForTable(table, condition(on), index)
}

// LeaveUnprocessed leaves the batch sub-requests that match in
// UnprocessedItems/UnprocessedKeys; nil clears every matcher.
func (s *Server) LeaveUnprocessed(table string, match func(n int, item map[string]*miniserver.AttributeValue) bool) {
	if match == nil {
		s.mini.ClearUnprocessedItems()
		return
	}
	s.mini.EmulateUnprocessedItems(table, match)
}

func condition(on bool) miniserver.FailureCondition {
	if on {
		return miniserver.FailureConditionInternalServerError
	}
	return miniserver.FailureConditionNone
}

// NewClient returns an SDK client for this server, with optFns applied
// to its options (fewer retry attempts, a call counter).
func (s *Server) NewClient(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(s.URL),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	}, optFns...)
}
