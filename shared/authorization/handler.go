// Package authorization connects a tenant's own mini program to the platform:
// the authorization flow, its callback, the binding rules and the admin API
// that shows the binding and the portal settings.
package authorization

import (
	"context"
	"errors"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
)

// NewHandler builds the authcallback function's handler: WeChat redirects
// the admin's browser here after the authorization page.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	svc := NewService(d)
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /wechat/auth/callback", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		state, code := q.Get("state"), q.Get("auth_code")
		if state == "" || code == "" || len(code) > 512 {
			return apperr.BadRequest("missing_parameters", "state and auth_code are required")
		}
		res, err := svc.Callback(r.Context(), state, code)
		switch {
		case errors.Is(err, ErrStateInvalid):
			return apperr.BadRequest("invalid_state", "the authorization link is not valid; start again from the console")
		case errors.Is(err, ErrStateExpired):
			return apperr.BadRequest("state_expired", "the authorization link expired; start again from the console")
		case errors.Is(err, ErrStateUsed):
			return apperr.E(apperr.Conflict, "state_used", "this authorization link was already used; start again from the console")
		case err != nil:
			return err
		}
		status := http.StatusOK
		if !res.Bound {
			status = http.StatusUnprocessableEntity
		}
		httpapi.WriteJSON(w, status, res)
		return nil
	})
	return rt, nil
}

// NewTicketPushHandler is the ticketpush function's handler with the
// authorization flow processing authorized / unauthorized events.
func NewTicketPushHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	return componentpush.NewHandlerWith(ctx, d, NewService(d))
}
