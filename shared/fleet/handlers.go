package fleet

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/release"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
)

// platformHandler is the platformadmin function: the operator's view of
// versions across tenants and bulk submissions. Every route needs an
// operator token; a tenant's admin is refused.
type platformHandler struct {
	fleet *Service
	staff *staffauth.Verifier
}

// NewPlatformHandler builds the platformadmin function's handler.
func NewPlatformHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	pipelines := release.ServiceFromDeps(d, tokens.FromDeps(d))
	h := &platformHandler{fleet: NewService(pipelines, NewStore(d.DB), DefaultThrottle, d.Now, d.Log), staff: staff}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *platformHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /platform/versions", h.staff.Operator(h.handleVersions))
	rt.Handle("POST /platform/bulk-submit", h.staff.Operator(h.handleBulkSubmit))
	rt.Handle("GET /platform/bulk-submit/{id}", h.staff.Operator(h.handleBulkJob))
	return rt
}

// maxBulkBody fits a job of MaxTargets tenant ids of the longest kind.
const maxBulkBody = 64 << 10

func (h *platformHandler) handleVersions(w http.ResponseWriter, r *http.Request, _ staffauth.Claims) error {
	report, err := h.fleet.Versions(r.Context())
	return httpapi.Reply(w, http.StatusOK, report, err)
}

func (h *platformHandler) handleBulkSubmit(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req BulkRequest
	if err := httpapi.DecodeJSON(r, &req, maxBulkBody); err != nil {
		return err
	}
	job, err := h.fleet.BulkSubmit(r.Context(), c.Subject, req)
	return httpapi.Reply(w, http.StatusOK, job, err)
}

func (h *platformHandler) handleBulkJob(w http.ResponseWriter, r *http.Request, _ staffauth.Claims) error {
	job, err := h.fleet.Job(r.Context(), r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, job, err)
}
