package functions

import (
	"context"
	"fmt"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/logging"
)

// Mount builds every HTTP function exactly as its Lambda does (its route
// table, the health route and the shared middleware) and routes each
// function's patterns to it on one router, the way API Gateway routes
// them; it also returns the jobs. The dev server and the end-to-end tests
// serve this.
func Mount(ctx context.Context, d *app.Deps) (http.Handler, lambdarun.Workers, error) {
	mux := httpapi.NewRouter(d.Log)
	var w lambdarun.Workers
	for _, f := range All {
		switch {
		case f.HTTP != nil:
			h, patterns, err := lambdarun.Handler(ctx, f.Name, f.HTTP, d)
			if err != nil {
				return nil, lambdarun.Workers{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			for _, p := range patterns {
				mux.HandleHTTP(p, h)
			}
		case f.Job != nil:
			job, err := f.Job(ctx, d)
			if err != nil {
				return nil, lambdarun.Workers{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			handler := lambdarun.ScheduledHandler(f.Name, d, job)
			name := f.Name
			w.Jobs = append(w.Jobs, lambdarun.Scheduled{Name: name, Every: f.Every, Run: func(ctx context.Context) (any, error) {
				return handler(logging.WithRequestID(ctx, "schedule-"+name), scheduledEvent(name))
			}})
		case f.Stream != nil:
			h, err := f.Stream(ctx, d)
			if err != nil {
				return nil, lambdarun.Workers{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			w.Streams = append(w.Streams, lambdarun.StreamConsumer{Name: f.Name, Handle: lambdarun.StreamHandler(f.Name, h)})
		case f.Queue != nil:
			h, err := f.Queue(ctx, d)
			if err != nil {
				return nil, lambdarun.Workers{}, fmt.Errorf("%s: %w", f.Name, err)
			}
			w.Queues = append(w.Queues, lambdarun.QueueConsumer{Name: f.Name, Handle: lambdarun.QueueHandler(f.Name, h)})
		}
	}
	return mux, w, nil
}
