// Package authorization connects a tenant's own mini program to the platform:
// the authorization flow with its start page and callback, the binding
// rules and the admin API that shows the binding and the portal settings.
package authorization

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/tokens"
)

// callbackHandler is the authcallback function: the public pages on the
// API domain (WeChat's authorization start-page domain). The start page
// sends the admin's browser to WeChat's authorization page, and WeChat
// redirects it back to the callback.
type callbackHandler struct {
	flow *Service
	log  *slog.Logger
}

// NewCallbackHandler builds the authcallback function's handler.
func NewCallbackHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	h := &callbackHandler{flow: ServiceFromDeps(d, tokens.FromDeps(d)), log: d.Log}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *callbackHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.HandleHTTP("GET "+StartPath, http.HandlerFunc(h.handleStartPage))
	rt.Handle("GET "+CallbackPath, h.handleCallback)
	rt.Handle("GET "+FastRegisterCallbackPath, h.handleFastRegisterCallback)
	return rt
}

func (h *callbackHandler) handleCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("auth_code")
	if state == "" || code == "" || len(code) > 512 {
		return apperr.BadRequest("missing_parameters", "state and auth_code are required")
	}
	res, err := h.flow.Callback(r.Context(), state, code)
	return writeResult(w, res, err)
}

// handleFastRegisterCallback answers WeChat's quick registration page
// sending the admin back with its ticket.
func (h *callbackHandler) handleFastRegisterCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state, ticket := q.Get("state"), q.Get("ticket")
	if state == "" || ticket == "" || len(ticket) > 512 {
		return apperr.BadRequest("missing_parameters", "state and ticket are required")
	}
	res, err := h.flow.FastRegisterCallback(r.Context(), state, ticket)
	return writeResult(w, res, err)
}

// writeResult answers an authorization's outcome: 200 bound, 202 pending,
// 422 with the problems, or the flow's error.
func writeResult(w http.ResponseWriter, res Result, err error) error {
	switch {
	case errors.Is(err, ErrStateInvalid):
		return apperr.BadRequest("invalid_state", "the authorization link is not valid; start again from the console")
	case errors.Is(err, ErrStateExpired):
		return apperr.BadRequest("state_expired", "the authorization link expired; start again from the console")
	case errors.Is(err, ErrStateUsed):
		return apperr.E(apperr.Conflict, "state_used", "this authorization link was already used; start again from the console")
	case errors.Is(err, ErrNotThisFlow):
		return apperr.E(apperr.Conflict, "authorization_mismatch",
			"this authorization does not belong to the link you started; start again from the console")
	case err != nil:
		return err
	}
	status := http.StatusOK
	switch {
	case res.Pending:
		status = http.StatusAccepted
	case !res.Bound:
		status = http.StatusUnprocessableEntity
	}
	httpapi.WriteJSON(w, status, res)
	return nil
}
