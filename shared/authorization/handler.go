// Package authorization connects a tenant's own mini program to the platform:
// the authorization flow, its callback and the binding rules.
package authorization

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the authcallback function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/authcallback", httpapi.Health("authcallback"))
	rt.Handle("GET /wechat/auth/callback", func(w http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
