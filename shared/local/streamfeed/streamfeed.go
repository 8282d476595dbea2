// Package streamfeed stands in, on a developer's machine and in tests, for
// Lambda's event source mapping of a DynamoDB stream: it reads a table's
// stream from the embedded DynamoDB server and invokes a stream function's
// handler with the batches Lambda would send it, checkpointing and
// retrying as Lambda does.
package streamfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wxchannel/shared/local/dynamoserver"
)

// Handler is a stream function's handler, as Lambda invokes it. It is an
// alias of the function type, so any handler of that shape (a method
// value, a named handler type of the product) is one without conversion.
type Handler = func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Filter picks the records the function is invoked with, as an event
// source mapping's FilterCriteria does; nil picks every record.
type Filter func(events.DynamoDBEventRecord) bool

// DefaultBatchSize is Lambda's default batch size for DynamoDB streams.
const DefaultBatchSize = 100

// Retry delays of Run after a failed invocation: doubling from the first
// to the last, reset by a success.
const (
	firstRetryDelay = 50 * time.Millisecond
	lastRetryDelay  = 5 * time.Second
)

// readSize is how many records a feeder reads from the stream at a time,
// DynamoDB Streams' GetRecords limit.
const readSize = 1000

// ErrBatchItemFailures reports an invocation whose response named failed
// records: the records from the first of them on are delivered again.
var ErrBatchItemFailures = errors.New("the handler reported batch item failures")

// Options tune a Feeder as an event source mapping is configured.
type Options struct {
	// Filter picks the records delivered (nil: all of them). Records it
	// drops are skipped for good, as Lambda discards records that match
	// no filter.
	Filter Filter
	// BatchSize is the most records one invocation gets (0:
	// DefaultBatchSize).
	BatchSize int
	// Logger receives the failed invocations Run retries (nil: they are
	// not logged).
	Logger *slog.Logger
}

// Feeder delivers one table's stream to one handler, in sequence order,
// one batch at a time, from the oldest record kept (Lambda's TRIM_HORIZON
// starting position). With FunctionResponseTypes ReportBatchItemFailures
// and without bisecting, as Lambda then does:
//   - a handler error (or panic) fails the whole batch: it is delivered
//     again from the same checkpoint;
//   - a response naming failed records (batchItemFailures, by sequence
//     number) moves the checkpoint to just before the lowest of them, and
//     the records from there on are delivered again; an empty list means
//     every record succeeded; a name that is empty or not in the batch
//     fails the whole batch;
//   - nothing is given up: records are retried until the stream drops
//     them after 24 hours (MaximumRetryAttempts -1).
type Feeder struct {
	srv     *dynamoserver.Server
	table   string
	handler Handler
	filter  Filter
	batch   int
	log     *slog.Logger

	mu         sync.Mutex // one invocation at a time, as Lambda per shard
	checkpoint string     // the last record done with ("": none yet)
}

// New returns a feeder of table's stream on srv (EnableStream must have
// been called) to handler.
func New(srv *dynamoserver.Server, table string, handler Handler, opts Options) *Feeder {
	f := &Feeder{srv: srv, table: table, handler: handler, filter: opts.Filter, batch: opts.BatchSize, log: opts.Logger}
	if f.batch <= 0 {
		f.batch = DefaultBatchSize
	}
	return f
}

// Checkpoint returns the sequence number of the last record the feeder is
// done with (delivered successfully or filtered out), "" before the first.
func (f *Feeder) Checkpoint() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkpoint
}

// FeedOnce invokes the handler at most once, with the next batch of
// records the filter picks, and moves the checkpoint by the outcome. It
// returns how many records the handler was given (0 when none were due;
// records filtered out are then skipped all the same) and the invocation's
// failure: the handler's error, or ErrBatchItemFailures.
func (f *Feeder) FeedOnce(ctx context.Context) (delivered int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv.StreamARN(f.table) == "" {
		return 0, fmt.Errorf("feed %s: %w", f.table, dynamoserver.ErrNoStream)
	}
	batch, examined := f.nextBatch()
	if len(batch) == 0 {
		if examined != nil {
			f.checkpoint = examined[len(examined)-1].Change.SequenceNumber
		}
		return 0, nil
	}
	resp, err := f.invoke(ctx, batch)
	if err != nil {
		return len(batch), fmt.Errorf("feed %s: %w", f.table, err)
	}
	failed, err := lowestFailure(batch, resp)
	if err != nil {
		return len(batch), fmt.Errorf("feed %s: %w", f.table, err)
	}
	if failed == "" {
		f.checkpoint = examined[len(examined)-1].Change.SequenceNumber
		return len(batch), nil
	}
	f.checkpoint = before(examined, failed, f.checkpoint)
	return len(batch), fmt.Errorf("feed %s: %w from record %s on", f.table, ErrBatchItemFailures, failed)
}

// Drain feeds until no record is due, and returns how many records were
// delivered in all; it stops at the first failed invocation.
func (f *Feeder) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := f.FeedOnce(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Run feeds until ctx is done, waiting for new records rather than
// polling, and retrying failed invocations after a delay that doubles up
// to a few seconds. It returns an error only when the table has no stream.
func (f *Feeder) Run(ctx context.Context) error {
	delay := firstRetryDelay
	for ctx.Err() == nil {
		n, err := f.FeedOnce(ctx)
		switch {
		case errors.Is(err, dynamoserver.ErrNoStream):
			return err
		case err != nil:
			if f.log != nil && ctx.Err() == nil {
				f.log.Error("stream batch failed; retrying", "table", f.table, "records", n, "retry_in", delay, "err", err)
			}
			sleep(ctx, delay)
			delay = min(2*delay, lastRetryDelay)
			continue
		}
		delay = firstRetryDelay
		if n > 0 {
			continue
		}
		if err := f.srv.WaitStream(ctx, f.table, f.Checkpoint()); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// nextBatch reads the stream after the checkpoint until it has a full
// batch of records the filter picks, or none is left. examined is every
// record read up to the batch's last one (those after it wait for the
// next batch), filtered ones included.
func (f *Feeder) nextBatch() (batch, examined []events.DynamoDBEventRecord) {
	after := f.checkpoint
	for {
		page := f.srv.StreamRecords(f.table, after, readSize)
		for _, r := range page {
			examined = append(examined, r)
			if f.filter == nil || f.filter(r) {
				batch = append(batch, r)
				if len(batch) == f.batch {
					return batch, examined
				}
			}
		}
		if len(page) < readSize {
			return batch, examined
		}
		after = page[len(page)-1].Change.SequenceNumber
	}
}

// invoke calls the handler with the batch as Lambda's Go runtime hands it
// over: decoded from the JSON Lambda sends. A panic fails the invocation,
// as it fails a Lambda invocation.
func (f *Feeder) invoke(ctx context.Context, batch []events.DynamoDBEventRecord) (resp events.DynamoDBEventResponse, err error) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: batch})
	if err != nil {
		return resp, fmt.Errorf("encode event: %w", err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return resp, fmt.Errorf("decode event: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return f.handler(ctx, ev)
}

// lowestFailure returns the lowest sequence number the response names as
// failed ("" when none): a name that is empty or not in the batch fails
// the whole batch, as Lambda treats it.
func lowestFailure(batch []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse) (string, error) {
	position := make(map[string]int, len(batch))
	for i, r := range batch {
		position[r.Change.SequenceNumber] = i
	}
	lowest := -1
	for _, failure := range resp.BatchItemFailures {
		i, ok := position[failure.ItemIdentifier]
		if !ok {
			return "", fmt.Errorf("%w: item identifier %q is not a sequence number of the batch, so the whole batch failed",
				ErrBatchItemFailures, failure.ItemIdentifier)
		}
		if lowest < 0 || i < lowest {
			lowest = i
		}
	}
	if lowest < 0 {
		return "", nil
	}
	return batch[lowest].Change.SequenceNumber, nil
}

// before returns the sequence number of the record examined just before
// seq (from, the checkpoint the batch started at, when seq came first).
func before(examined []events.DynamoDBEventRecord, seq, from string) string {
	for _, r := range examined {
		if r.Change.SequenceNumber == seq {
			return from
		}
		from = r.Change.SequenceNumber
	}
	return from
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
