// Package lambdarun starts a function in the Lambda runtime: HTTP functions
// through the API Gateway HTTP API (v2 payload) adapter, scheduled functions
// as EventBridge targets.
package lambdarun

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// HTTP builds the handler from the environment and serves API Gateway events.
func HTTP(name string, factory app.HandlerFactory) {
	ctx := context.Background()
	h, err := BuildHTTP(ctx, name, factory)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// BuildHTTP builds the handler a deployed HTTP function serves, wrapped in
// the shared middleware.
func BuildHTTP(ctx context.Context, name string, factory app.HandlerFactory) (http.Handler, error) {
	d, err := app.FromEnv(ctx)
	if err != nil {
		return nil, err
	}
	h, err := factory(ctx, d)
	if err != nil {
		return nil, err
	}
	return httpapi.Middleware(name, d.Log, d.Config.RequestTimeout, h), nil
}

// Job builds the job from the environment and runs it for each scheduled
// event.
func Job(name string, factory app.JobFactory) {
	ctx := context.Background()
	d, err := app.FromEnv(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	job, err := factory(ctx, d)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(ScheduledHandler(name, d, job))
}

// ScheduledHandler adapts a job to the EventBridge event signature.
func ScheduledHandler(name string, d *app.Deps, job app.Job) func(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
		summary, err := job.Run(ctx)
		if err != nil {
			d.Log.ErrorContext(ctx, "job failed", "function", name, "event_id", ev.ID, "err", err.Error())
			return summary, err
		}
		d.Log.InfoContext(ctx, "job done", "function", name, "event_id", ev.ID, "summary", summary)
		return summary, nil
	}
}
