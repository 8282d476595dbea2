package storage

import (
	"context"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts the DynamoDB operations a client makes, by operation
// name, once per call whatever the SDK retries: what the code asks of
// DynamoDB, as benchmarks report it.
type CallCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

// Install adds the counter to a client's options:
// dynamodb.New(opts, counter.Install).
func (c *CallCounter) Install(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CountCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				c.mu.Lock()
				if c.calls == nil {
					c.calls = map[string]int{}
				}
				c.calls[middleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// Calls returns the count of each operation since the last Reset.
func (c *CallCounter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Reset zeroes the counts.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	c.calls = nil
	c.mu.Unlock()
}
