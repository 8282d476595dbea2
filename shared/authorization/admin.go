package authorization

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/tokens"
)

// Status is what the admin console shows under "WeChat Mini Program".
type Status struct {
	// Mode is "enterprise" when a mini program is bound, else "public".
	Mode        string                   `json:"mode"`
	Binding     *binding.Binding         `json:"binding,omitempty"`
	Tokens      *tokens.AuthorizerStatus `json:"tokens,omitempty"`
	NeedsReauth bool                     `json:"needs_reauth"`
	LastError   *Problem                 `json:"last_error,omitempty"`
	Problems    []Problem                `json:"problems,omitempty"`
	// Finishing is set while an authorization the admin came back from
	// waits for WeChat's push to confirm it.
	Finishing *Finishing `json:"finishing,omitempty"`
}

// Finishing is an authorization waiting for WeChat's confirmation.
type Finishing struct {
	Since   time.Time `json:"since"`
	Message string    `json:"message"`
}

// adminHandler is the adminbinding function: connect the enterprise mini
// program, its status with fixes, unbind, and the portal settings.
type adminHandler struct {
	flow         *Service
	settings     *tenant.Store
	staff        *staffauth.Verifier
	maxBodyBytes int64
}

// NewAdminHandler builds the adminbinding function's handler.
func NewAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	h := &adminHandler{flow: ServiceFromDeps(d, tokens.FromDeps(d)), settings: tenant.NewStore(d.DB),
		staff: staff, maxBodyBytes: d.Config.MaxBodyBytes}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *adminHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /admin/miniprogram/authorization", h.staff.Admin(h.handleStart))
	rt.Handle("GET /admin/miniprogram/binding", h.staff.Admin(h.handleStatus))
	rt.Handle("DELETE /admin/miniprogram/binding", h.staff.Admin(h.handleUnbind))
	rt.Handle("GET /admin/portal/settings", h.staff.Admin(h.handleGetSettings))
	rt.Handle("PUT /admin/portal/settings", h.staff.Admin(h.handlePutSettings))
	h.onboardRoutes(rt)
	return rt
}

// handleStart hands the console a link to our start page, not WeChat's
// links: WeChat refuses its authorization page opened from the console's
// domain.
func (h *adminHandler) handleStart(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	link, err := h.flow.IssueStartLink(r.Context(), c.TenantID, KindMiniProgram)
	return httpapi.Reply(w, http.StatusCreated, link, err)
}

func (h *adminHandler) handleStatus(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	st, err := h.flow.Status(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (h *adminHandler) handleUnbind(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	if err := h.flow.Unbind(r.Context(), c.TenantID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handleGetSettings(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	st, err := h.settings.Settings(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (h *adminHandler) handlePutSettings(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var st tenant.Settings
	if err := httpapi.DecodeJSON(r, &st, h.maxBodyBytes); err != nil {
		return err
	}
	if err := st.Validate(); err != nil {
		return apperr.BadRequest("invalid_settings", err.Error())
	}
	saved, err := h.settings.PutSettings(r.Context(), c.TenantID, st)
	if errors.Is(err, storage.ErrConflict) {
		return apperr.E(apperr.Conflict, "version_conflict", "the settings changed since you loaded them; reload and try again")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, saved)
	return nil
}

// Status reports the tenant's binding, its token health and the last
// failed authorization with its fix.
func (s *Service) Status(ctx context.Context, tenantID string) (Status, error) {
	st := Status{Mode: "public"}
	recs, err := s.store.tenantRecords(ctx, tenantID)
	if err != nil {
		return Status{}, err
	}
	switch b := recs.binding; {
	case b != nil && b.Bound():
		st.Mode = "enterprise"
		st.Binding = b
		ts, err := s.tokens.AuthorizerStatus(ctx, b.AppID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return Status{}, fmt.Errorf("authorizer token status: %w", err)
		}
		if err == nil {
			st.Tokens = &ts
			st.NeedsReauth = ts.NeedsReauth
			if ts.NeedsReauth {
				p := ProblemFor(ReasonRevoked, "")
				p.Message = "WeChat no longer accepts the platform's access to this Mini Program (" + ts.Reason + ")."
				st.LastError = &p
			}
		}
	case b != nil:
		st.Binding = b // unbound: shown as history
	}
	if a := recs.attempt; a != nil && st.LastError == nil {
		st.LastError = &a.Problem
		st.Problems = a.Problems
	}
	if p := recs.pending; p != nil && s.cfg.Now().Unix() < p.TTL {
		st.Finishing = &Finishing{Since: time.Unix(p.At, 0).UTC(),
			Message: "WeChat has not confirmed the authorization yet; it finishes as soon as WeChat's notification arrives."}
	}
	return st, nil
}
