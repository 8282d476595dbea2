// Package terminaluser signs terminal users in from the mini program and
// registers them according to the tenant's access settings.
package terminaluser

import (
	"context"
	"encoding/json"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the userlogin function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/userlogin", httpapi.Health("userlogin"))
	rt.Handle("POST /portal/login", func(w http.ResponseWriter, r *http.Request) error {
		var body map[string]json.RawMessage
		if err := httpapi.DecodeJSON(r, &body, d.Config.MaxBodyBytes); err != nil {
			return err
		}
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
