// Package authorization connects a tenant's own mini program to the platform:
// the authorization flow with its start page and callback, the binding
// rules and the admin API that shows the binding and the portal settings.
package authorization

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

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
		return h.answer(w, r, Result{}, apperr.BadRequest("missing_parameters", "state and auth_code are required"))
	}
	res, err := h.flow.Callback(r.Context(), state, code)
	return h.answer(w, r, res, err)
}

// handleFastRegisterCallback answers WeChat's quick registration page
// sending the admin back with its ticket.
func (h *callbackHandler) handleFastRegisterCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state, ticket := q.Get("state"), q.Get("ticket")
	if state == "" || ticket == "" || len(ticket) > 512 {
		return h.answer(w, r, Result{}, apperr.BadRequest("missing_parameters", "state and ticket are required"))
	}
	res, err := h.flow.FastRegisterCallback(r.Context(), state, ticket)
	return h.answer(w, r, res, err)
}

// answer answers an authorization's outcome: 200 bound, 202 pending, 422
// with the problems, or the flow's error. WeChat's redirect lands the
// admin's browser here, so a request that accepts HTML gets a page saying
// the same with a way back to the console; API clients get JSON.
func (h *callbackHandler) answer(w http.ResponseWriter, r *http.Request, res Result, err error) error {
	status, err := resultStatus(res, err)
	if !acceptsHTML(r) {
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, status, res)
		return nil
	}
	if err != nil {
		status = httpapi.StatusOf(err)
		if status >= http.StatusInternalServerError {
			h.log.ErrorContext(r.Context(), "authorization callback failed", "status", status, "err", err.Error())
		}
	}
	writeResultPage(w, status, resultPageOf(res, err))
	return nil
}

// acceptsHTML reports whether the request comes from a browser's
// navigation, which asks for text/html first; API clients ask for JSON or
// anything.
func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// resultStatus is the status of an authorization's outcome, or the
// flow's error as the admin should read it.
func resultStatus(res Result, err error) (int, error) {
	switch {
	case errors.Is(err, ErrStateInvalid):
		return 0, apperr.BadRequest("invalid_state", "the authorization link is not valid; start again from the console")
	case errors.Is(err, ErrStateExpired):
		return 0, apperr.BadRequest("state_expired", "the authorization link expired; start again from the console")
	case errors.Is(err, ErrStateUsed):
		return 0, apperr.E(apperr.Conflict, "state_used", "this authorization link was already used; start again from the console")
	case errors.Is(err, ErrNotThisFlow):
		return 0, apperr.E(apperr.Conflict, "authorization_mismatch",
			"this authorization does not belong to the link you started; start again from the console")
	case err != nil:
		return 0, err
	case res.Pending:
		return http.StatusAccepted, nil
	case !res.Bound:
		return http.StatusUnprocessableEntity, nil
	}
	return http.StatusOK, nil
}
