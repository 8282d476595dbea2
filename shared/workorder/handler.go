// Package workorder holds work orders: creation from the portal, follow-up,
// and the engineers' side.
package workorder

import (
	"context"
	"encoding/json"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the workordercreate function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/workordercreate", httpapi.Health("workordercreate"))
	rt.Handle("POST /portal/work-orders", func(w http.ResponseWriter, r *http.Request) error {
		var body map[string]json.RawMessage
		if err := httpapi.DecodeJSON(r, &body, d.Config.MaxBodyBytes); err != nil {
			return err
		}
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
