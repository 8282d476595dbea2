package terminaluser

import "wxchannel/shared/tenant"

// CanCreate tells whether the user may create work orders under st.
func CanCreate(st tenant.Settings, u User) bool {
	return st.GuestAccess || u.Status == StatusRegistered
}

// PublicSettings keeps what the portal needs to show of a tenant's settings.
func PublicSettings(st tenant.Settings) tenant.Settings {
	return tenant.Settings{DisplayName: st.DisplayName, GuestAccess: st.GuestAccess,
		InvitationCodes: st.InvitationCodes, SerialRegistration: st.SerialRegistration}
}
