// Package terminaluser signs terminal users in from the mini program and
// registers them according to the tenant's access settings.
package terminaluser

import (
	"context"

	"net/http"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/device"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/usersession"
)

// registrationHandler is the portalregister function: the user's own view
// (profile, registration, devices), registration by invitation code or
// serial number, and what a scanned QR code names.
type registrationHandler struct {
	users    *Store
	devices  *device.Portal
	sessions *usersession.Sessions
	sections []MeSection
	now      func() time.Time
}

// MeSection is a part of GET /portal/me another package adds: the items
// it needs are read in the page's one batch, and what Build makes of them
// is the answer's field Name.
type MeSection struct {
	Name string
	// Keys are the items the section reads for the signed-in user.
	Keys func(c usersession.Claims) []dynamo.Keyed
	// Build makes the section from the items read that exist (the
	// user's profile and the tenant's settings among them).
	Build func(items []dynamo.Item) (any, error)
}

// NewRegistrationHandler builds the portalregister function's handler.
func NewRegistrationHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	return NewRegistrationHandlerWith()(ctx, d)
}

// NewRegistrationHandlerWith builds the portalregister function's handler
// with more sections on GET /portal/me.
func NewRegistrationHandlerWith(sections ...MeSection) app.HandlerFactory {
	return func(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
		h := &registrationHandler{users: NewStore(d.DB), sessions: usersession.FromDeps(d), now: d.Now, sections: sections,
			devices: device.NewPortal(device.NewStore(d.DB), qrscene.FromDeps(d), tenant.NewStore(d.DB))}
		return h.routes(httpapi.NewRouter(d.Log)), nil
	}
}

func (h *registrationHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /portal/me", h.sessions.Require(h.handleMe))
	rt.Handle("POST /portal/registration/invitation", h.withUser(h.handleRedeem))
	rt.Handle("POST /portal/registration/device", h.withUser(h.handleRegisterDevice))
	rt.Handle("GET /portal/devices", h.sessions.Require(h.devices.HandleMine))
	rt.Handle("GET /portal/scene/{scene}", h.sessions.Require(h.devices.HandleScene))
	return rt
}

// userHandler runs for a signed-in user with the tenant's settings.
type userHandler func(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error

func (h *registrationHandler) withUser(next userHandler) httpapi.HandlerFunc {
	return h.sessions.Require(func(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
		u, st, err := h.users.GetWithSettings(r.Context(), c.TenantID, c.UserID)
		if storage.IsNotFound(err) {
			return apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
		}
		if err != nil {
			return err
		}
		return next(w, r, u, st)
	})
}

// handleMe answers the user, their serial-number registration (with the
// reason of a rejection) when they have one, the tenant's access settings
// and whether they may submit.
func (h *registrationHandler) handleMe(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	var more []dynamo.Keyed
	for _, sec := range h.sections {
		more = append(more, sec.Keys(c)...)
	}
	u, st, reg, items, err := h.users.MeWith(r.Context(), c.TenantID, c.UserID, more)
	if storage.IsNotFound(err) {
		return apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
	}
	if err != nil {
		return err
	}
	me := map[string]any{"user": u, "access": PublicSettings(st), "can_create_work_orders": CanCreate(st, u)}
	if reg != nil {
		me["registration"] = reg
	}
	for _, sec := range h.sections {
		if me[sec.Name], err = sec.Build(items); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, me)
	return nil
}

func (h *registrationHandler) handleRedeem(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	out, err := h.users.Redeem(r.Context(), u, st, req.Code, h.now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": out})
	return nil
}

func (h *registrationHandler) handleRegisterDevice(w http.ResponseWriter, r *http.Request, u User, st tenant.Settings) error {
	var req DeviceRegistration
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	reg, err := h.users.RegisterDevice(r.Context(), u, st, req, h.now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, reg)
	return nil
}

// adminHandler is the adminportal function: invitations, registration
// decisions, devices and QR scenes.
type adminHandler struct {
	users   *Store
	devices *device.Admin
	scenes  *qrscene.Codec
	staff   *staffauth.Verifier
	now     func() time.Time
}

// NewAdminHandler builds the adminportal function's handler.
func NewAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	h := &adminHandler{users: NewStore(d.DB), devices: device.NewAdmin(device.NewStore(d.DB)), scenes: qrscene.FromDeps(d),
		staff: staff, now: d.Now}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *adminHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /admin/invitations", h.staff.Admin(h.handleListInvitations))
	rt.Handle("POST /admin/invitations", h.staff.Admin(h.handleCreateInvitation))
	rt.Handle("DELETE /admin/invitations/{code}", h.staff.Admin(h.handleRevokeInvitation))
	rt.Handle("GET /admin/registrations", h.staff.Admin(h.handlePendingRegistrations))
	rt.Handle("POST /admin/registrations/{id}/approve", h.staff.Admin(h.handleApprove))
	rt.Handle("POST /admin/registrations/{id}/reject", h.staff.Admin(h.handleReject))
	rt.Handle("GET /admin/devices", h.staff.Admin(h.devices.HandleList))
	rt.Handle("GET /admin/devices/{sn}", h.staff.Admin(h.devices.HandleDetail))
	rt.Handle("POST /admin/qr-scenes", h.staff.Admin(h.handleCreateScene))
	return rt
}

func (h *adminHandler) handleCreateInvitation(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req NewInvitation
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	inv, err := h.users.CreateInvitation(r.Context(), c.TenantID, req, h.now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, inv)
	return nil
}

func (h *adminHandler) handleListInvitations(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return apperr.InvalidField("limit", "between 1 and 200")
		}
		limit = n
	}
	page, err := h.users.Invitations(r.Context(), c.TenantID, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *adminHandler) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	if err := h.users.RevokeInvitation(r.Context(), c.TenantID, r.PathValue("code")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handlePendingRegistrations(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	pending, err := h.users.PendingRegistrations(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"pending": pending})
	return nil
}

func (h *adminHandler) handleApprove(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req Approval
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	if err := h.users.Approve(r.Context(), c.TenantID, r.PathValue("id"), req, h.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handleReject(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req Rejection
	if err := httpapi.DecodeJSON(r, &req, 2<<10); err != nil {
		return err
	}
	if err := h.users.Reject(r.Context(), c.TenantID, r.PathValue("id"), req, h.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handleCreateScene(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req struct {
		DeviceSN string `json:"device_sn"`
	}
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	if req.DeviceSN != "" && !ValidSerial(req.DeviceSN) {
		return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
	}
	scene, err := h.scenes.Encode(r.Context(), c.TenantID, device.Normalize(req.DeviceSN))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"scene": scene, "page": qrscene.PortalPage})
	return nil
}
