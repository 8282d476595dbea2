package engineer

import (
	"net/http"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
)

// adminHandler serves a tenant admin's directory: the tenant is always the
// admin's own, from their token.
type adminHandler struct {
	store      *Store
	now        func() time.Time
	validSkill func(string) bool
}

// Routes registers the admin's directory routes on rt and returns it.
// validSkill says whether a skill names a work-order category (nil checks
// only its form; see PutRequest.Validate).
func Routes(rt *httpapi.Router, staff *staffauth.Verifier, store *Store, now func() time.Time,
	validSkill func(string) bool,
) *httpapi.Router {
	h := &adminHandler{store: store, now: now, validSkill: validSkill}
	rt.Handle("GET /admin/engineers", staff.Admin(h.handleList))
	rt.Handle("GET /admin/engineers/{id}", staff.Admin(h.handleGet))
	rt.Handle("PUT /admin/engineers/{id}", staff.Admin(h.handlePut))
	return rt
}

// handleList answers the directory, all of it or (?active=true|false)
// the active or the deactivated engineers.
func (h *adminHandler) handleList(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var f ListFilter
	switch v := r.URL.Query().Get("active"); v {
	case "":
	case "true", "false":
		active := v == "true"
		f.Active = &active
	default:
		return apperr.InvalidField("active", "true or false")
	}
	list, err := h.store.List(r.Context(), c.TenantID, f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"engineers": list})
	return nil
}

func (h *adminHandler) handleGet(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	e, err := h.store.Get(r.Context(), c.TenantID, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, e, err)
}

// handlePut creates (version 0: 201) or replaces (the version read: 200)
// an engineer's entry.
func (h *adminHandler) handlePut(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req PutRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	req.ID = r.PathValue("id")
	if err := req.Validate(h.validSkill); err != nil {
		return err
	}
	e, err := h.store.Put(r.Context(), c.TenantID, req, h.now())
	status := http.StatusOK
	if req.Version == 0 {
		status = http.StatusCreated
	}
	return httpapi.Reply(w, status, e, err)
}
