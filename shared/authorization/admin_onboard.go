package authorization

import (
	"net/http"

	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
)

// onboardRoutes lists the admin routes of onboarding: the official
// account, quick registration and the same-entity binding.
func (h *adminHandler) onboardRoutes(rt *httpapi.Router) {
	rt.Handle("POST /admin/officialaccount/authorization", h.staff.Admin(h.handleStartOfficialAccount))
	rt.Handle("GET /admin/officialaccount/binding", h.staff.Admin(h.handleOfficialAccountStatus))
	rt.Handle("DELETE /admin/officialaccount/binding", h.staff.Admin(h.handleDisconnectOfficialAccount))
	rt.Handle("POST /admin/miniprogram/fast-registration/official-account", h.staff.Admin(h.handleRegisterFromOfficialAccount))
	rt.Handle("POST /admin/miniprogram/fast-registration/enterprise", h.staff.Admin(h.handleRegisterEnterprise))
	rt.Handle("GET /admin/miniprogram/fast-registration", h.staff.Admin(h.handleRegistrationStatus))
	rt.Handle("POST /admin/open-account", h.staff.Admin(h.handleShareIdentity))
	rt.Handle("GET /admin/open-account", h.staff.Admin(h.handleOpenAccount))
	rt.Handle("DELETE /admin/open-account", h.staff.Admin(h.handleStopSharingIdentity))
}

// handleStartOfficialAccount hands the console a start link for an official
// account (WeChat's page then lists official accounts only).
func (h *adminHandler) handleStartOfficialAccount(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	link, err := h.flow.IssueStartLink(r.Context(), c.TenantID, KindOfficialAccount)
	return httpapi.Reply(w, http.StatusCreated, link, err)
}

func (h *adminHandler) handleOfficialAccountStatus(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	st, err := h.flow.OfficialAccountStatus(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, st, err)
}

func (h *adminHandler) handleDisconnectOfficialAccount(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	if err := h.flow.DisconnectOfficialAccount(r.Context(), c.TenantID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *adminHandler) handleRegisterFromOfficialAccount(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	link, err := h.flow.StartOfficialAccountRegistration(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusCreated, link, err)
}

func (h *adminHandler) handleRegisterEnterprise(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req EnterpriseRegistration
	if err := httpapi.DecodeJSON(r, &req, h.maxBodyBytes); err != nil {
		return err
	}
	v, err := h.flow.RegisterEnterprise(r.Context(), c.TenantID, req)
	return httpapi.Reply(w, http.StatusAccepted, v, err)
}

func (h *adminHandler) handleRegistrationStatus(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	v, err := h.flow.RegistrationStatusOf(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

func (h *adminHandler) handleShareIdentity(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	v, err := h.flow.ShareIdentity(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

func (h *adminHandler) handleOpenAccount(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	v, err := h.flow.OpenAccountOf(r.Context(), c.TenantID)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

func (h *adminHandler) handleStopSharingIdentity(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	if err := h.flow.StopSharingIdentity(r.Context(), c.TenantID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
