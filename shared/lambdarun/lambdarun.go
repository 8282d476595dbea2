// Package lambdarun starts a function in the Lambda runtime: HTTP functions
// through the API Gateway HTTP API (v2 payload) adapter, scheduled functions
// as EventBridge targets. Its wiring is also what the dev server and the
// end-to-end tests mount, so every function is served the same way
// everywhere.
package lambdarun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/logging"
)

// HTTP builds the handler from the environment and serves API Gateway events.
func HTTP(name string, factory app.HandlerFactory) {
	ctx := context.Background()
	d, err := app.FromEnv(ctx)
	if err != nil {
		exit(name, err)
	}
	h, _, err := Handler(ctx, name, factory, d)
	if err != nil {
		exit(name, err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// Handler builds an HTTP function as it is deployed: the factory's route
// table plus GET /health/<name>, wrapped in the shared middleware. It
// returns the route patterns too (the dev server routes them to it).
func Handler(ctx context.Context, name string, factory app.HandlerFactory, d *app.Deps) (http.Handler, []string, error) {
	rt, err := factory(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	rt.Handle("GET /health/"+name, httpapi.Health(name))
	return httpapi.Middleware(name, d.Log, d.Config.RequestTimeout, rt), rt.Patterns(), nil
}

// Job builds the job from the environment and runs it for each scheduled
// event.
func Job(name string, factory app.JobFactory) {
	start(name, factory, func(d *app.Deps, job app.Job) any { return ScheduledHandler(name, d, job) })
}

// Stream builds the stream consumer from the environment and serves its
// event source mapping.
func Stream(name string, factory app.StreamFactory) {
	start(name, factory, func(_ *app.Deps, h app.StreamHandler) any { return StreamHandler(name, h) })
}

// Queue builds the queue consumer from the environment and serves its
// event source mapping.
func Queue(name string, factory app.QueueFactory) {
	start(name, factory, func(_ *app.Deps, h app.QueueHandler) any { return QueueHandler(name, h) })
}

// start builds a function's dependencies from the environment and its
// handler with factory, and serves the handler wrap makes of it; it exits
// on a configuration error, as every function does.
func start[H any](name string, factory func(context.Context, *app.Deps) (H, error), wrap func(*app.Deps, H) any) {
	ctx := context.Background()
	d, err := app.FromEnv(ctx)
	if err != nil {
		exit(name, err)
	}
	h, err := factory(ctx, d)
	if err != nil {
		exit(name, err)
	}
	lambda.Start(wrap(d, h))
}

// StreamHandler tags each invocation with the function and its request id.
func StreamHandler(name string, h app.StreamHandler) app.StreamHandler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return h(invocation(ctx, name), ev)
	}
}

// QueueHandler tags each invocation with the function and its request id.
func QueueHandler(name string, h app.QueueHandler) app.QueueHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return h(invocation(ctx, name), ev)
	}
}

// invocation is ctx tagged with the function's name and Lambda's request
// id (a fresh one outside Lambda), for the logs.
func invocation(ctx context.Context, name string) context.Context {
	ctx = logging.WithFunction(ctx, name)
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return logging.WithRequestID(ctx, lc.AwsRequestID)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return logging.WithRequestID(ctx, hex.EncodeToString(b[:]))
}

func exit(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

// ScheduledHandler adapts a job to the EventBridge event signature.
func ScheduledHandler(name string, d *app.Deps, job app.Job) func(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
		ctx = logging.WithFunction(ctx, name)
		summary, err := job.Run(ctx)
		if err != nil {
			d.Log.ErrorContext(ctx, "job failed", "function", name, "event_id", ev.ID, "err", err.Error())
			return summary, err
		}
		d.Log.InfoContext(ctx, "job done", "function", name, "event_id", ev.ID, "summary", summary)
		return summary, nil
	}
}

// Scheduled is a job with its interval, run as EventBridge would run it
// (the dev server's tickers, the tests).
type Scheduled struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) (any, error)
}

// StreamConsumer is a stream consumer by name, as its event source
// mapping invokes it (the dev server's feeder, the tests).
type StreamConsumer struct {
	Name   string
	Handle app.StreamHandler
}

// QueueConsumer is a queue consumer by name, as its event source mapping
// invokes it (the dev server's poller, the tests).
type QueueConsumer struct {
	Name   string
	Handle app.QueueHandler
}

// Workers are the functions that are not HTTP: the scheduled jobs and the
// stream and queue consumers.
type Workers struct {
	Jobs    []Scheduled
	Streams []StreamConsumer
	Queues  []QueueConsumer
}
