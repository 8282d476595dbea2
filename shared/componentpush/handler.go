// Package componentpush receives WeChat's pushes to the authorization event
// URL (component_verify_ticket and authorization events).
package componentpush

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the ticketpush function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/ticketpush", httpapi.Health("ticketpush"))
	rt.Handle("POST /wechat/component/events", func(w http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
