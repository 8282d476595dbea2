// Package release takes a bound mini program from code commit through WeChat
// review to release.
package release

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the reviewsubmit function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/reviewsubmit", httpapi.Health("reviewsubmit"))
	rt.Handle("POST /admin/miniprogram/review", func(w http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
