// Package release takes a bound mini program from code commit through WeChat
// review to release.
package release

import (
	"context"
	"encoding/json"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the reviewsubmit function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/reviewsubmit", httpapi.Health("reviewsubmit"))
	rt.Handle("POST /admin/miniprogram/review", func(w http.ResponseWriter, r *http.Request) error {
		var body map[string]json.RawMessage
		if err := httpapi.DecodeJSON(r, &body, d.Config.MaxBodyBytes); err != nil {
			return err
		}
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
