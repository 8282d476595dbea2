package storage

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/guregu/dynamo/v2"
)

// CallCounter counts the DynamoDB operations a client makes, by operation
// name, once per call whatever the SDK retries: what the code asks of
// DynamoDB, as benchmarks report it. It also counts the attempts DynamoDB
// cancelled because another request was changing the same item, and
// whether the retries then got through.
type CallCounter struct {
	mu        sync.Mutex
	calls     map[string]int
	conflicts ConflictCounts
}

// ConflictCounts say how transaction conflicts went.
type ConflictCounts struct {
	// Cancelled counts attempts DynamoDB cancelled with a transaction
	// conflict.
	Cancelled int
	// Resolved counts calls that met a conflict and whose retry then got
	// through: DynamoDB applied it, or one of its conditions decided it
	// (the other request won). Unresolved counts the others: the conflict
	// outlasted the retries, or the call then failed otherwise.
	Resolved, Unresolved int
}

type attemptsKey struct{}

// Install adds the counter to a client's options:
// dynamodb.New(opts, counter.Install).
func (c *CallCounter) Install(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("CountCalls", c.countCall), middleware.Before); err != nil {
			return err
		}
		// Inside the retry loop: one run per attempt.
		conflicts := middleware.FinalizeMiddlewareFunc("CountConflicts", countConflict)
		if err := st.Finalize.Insert(conflicts, "Retry", middleware.After); err != nil {
			return st.Finalize.Add(conflicts, middleware.After)
		}
		return nil
	})
}

func (c *CallCounter) countCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[middleware.GetOperationName(ctx)]++
	c.mu.Unlock()
	var cancelled atomic.Int64
	out, md, err := next.HandleInitialize(context.WithValue(ctx, attemptsKey{}, &cancelled), in)
	if n := int(cancelled.Load()); n > 0 {
		c.mu.Lock()
		c.conflicts.Cancelled += n
		if err == nil || dynamo.IsCondCheckFailed(err) {
			c.conflicts.Resolved++
		} else {
			c.conflicts.Unresolved++
		}
		c.mu.Unlock()
	}
	return out, md, err
}

func countConflict(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleFinalize(ctx, in)
	if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int64); ok && err != nil && transactionConflict(err) {
		n.Add(1)
	}
	return out, md, err
}

// Calls returns the count of each operation since the last Reset.
func (c *CallCounter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Conflicts returns how transaction conflicts went since the counter was
// installed (Reset leaves them).
func (c *CallCounter) Conflicts() ConflictCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conflicts
}

// Reset zeroes the call counts.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	c.calls = nil
	c.mu.Unlock()
}
