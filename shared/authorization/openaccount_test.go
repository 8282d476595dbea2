package authorization_test

import (
	"net/http"
	"testing"

	"wxchannel/shared/staffauth"
)

// login signs person in through the enterprise mini program appid, as
// wx.login and our login do.
func (w *world) login(t *testing.T, appid, person string) (user map[string]any, session string) {
	t.Helper()
	r := w.Must(w.Do("POST", "/portal/login", "", map[string]any{"code": w.Sim.PersonJSCode(appid, person), "appid": appid}), http.StatusOK)
	return r.Map("user"), r.Str("session_token")
}

func TestSameEntityBindingMakesOneCustomerAcrossTheTenantsApps(t *testing.T) {
	w := newWorld(t)
	const mpA, mpB = "wxacme0000000001", "wxacme0000000002"
	w.Sim.AddAuthorizer(miniProgram(mpA))
	w.Sim.AddAuthorizer(miniProgram(mpB))
	w.Sim.AddAuthorizer(officialAccount())
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	// Both accounts are needed first.
	w.MustError(w.Do("POST", "/admin/open-account", admin, nil), http.StatusConflict, "needs_both_accounts")
	w.Must(w.Authorize(admin, mpA), http.StatusOK)
	w.Must(w.connectOfficialAccount(t, "acme"), http.StatusOK)
	if w.Sim.UnionIDOf(mpA, "zhang") != "" {
		t.Fatal("a unionid without an open account")
	}

	shared := w.Must(w.Do("POST", "/admin/open-account", admin, nil), http.StatusOK)
	open := shared.Str("open_account", "open_appid")
	if open == "" || w.Sim.OpenAccountOf(mpA) != open || w.Sim.OpenAccountOf(oaAppID) != open || len(shared.List("open_account", "accounts")) != 2 {
		t.Fatalf("shared %s", shared.Raw)
	}
	// WeChat now gives each person one unionid in both apps.
	if u := w.Sim.UnionIDOf(mpA, "zhang"); u == "" || u != w.Sim.UnionIDOf(oaAppID, "zhang") {
		t.Fatal("no shared unionid")
	}
	// Asking again changes nothing and creates no second open account.
	again := w.Must(w.Do("POST", "/admin/open-account", admin, nil), http.StatusOK)
	if again.Str("open_account", "open_appid") != open || w.Sim.Calls("open_create") != 1 {
		t.Fatalf("again %s", again.Raw)
	}
	if got := w.Must(w.Do("GET", "/admin/open-account", admin, nil), http.StatusOK); got.Get("shared") != true ||
		got.Str("open_account", "open_appid") != open {
		t.Fatalf("view %s", got.Raw)
	}

	// Zhang registers through mini program A with an invitation.
	settings := w.Must(w.Do("GET", "/admin/portal/settings", admin, nil), http.StatusOK).Body
	settings["invitation_codes"] = true
	w.Must(w.Do("PUT", "/admin/portal/settings", admin, settings), http.StatusOK)
	inv := w.Must(w.Do("POST", "/admin/invitations", admin, map[string]any{"customer_id": "CUST-42", "max_uses": 1, "expires_in_days": 7}),
		http.StatusCreated).Str("code")
	_, session := w.login(t, mpA, "zhang")
	w.Must(w.Do("POST", "/portal/registration/invitation", session, map[string]any{"code": inv}), http.StatusOK)

	// The tenant moves to mini program B, bound to the same open account.
	w.Must(w.Do("DELETE", "/admin/miniprogram/binding", admin, nil), http.StatusNoContent)
	w.Must(w.Authorize(admin, mpB), http.StatusOK)
	w.Must(w.Do("POST", "/admin/open-account", admin, nil), http.StatusOK)
	if w.Sim.OpenAccountOf(mpB) != open {
		t.Fatal("mini program B not bound to the open account")
	}
	// Zhang, new to B, is the same customer; Li, never registered, is a guest.
	zhang, _ := w.login(t, mpB, "zhang")
	if zhang["status"] != "registered" || zhang["customer_id"] != "CUST-42" || zhang["linked_user_id"] == nil {
		t.Fatalf("zhang in B: %v", zhang)
	}
	if li, _ := w.login(t, mpB, "li"); li["status"] != "guest" || li["customer_id"] != nil {
		t.Fatalf("li in B: %v", li)
	}

	// Stopping the sharing unbinds both in WeChat.
	w.Must(w.Do("DELETE", "/admin/open-account", admin, nil), http.StatusNoContent)
	if w.Sim.OpenAccountOf(mpB) != "" || w.Sim.OpenAccountOf(oaAppID) != "" {
		t.Fatal("still bound")
	}
	w.MustError(w.Do("DELETE", "/admin/open-account", admin, nil), http.StatusNotFound, "not_found")
}

func TestAccountsOfDifferentPrincipalsCannotShareUsers(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	oa := officialAccount()
	oa.PrincipalName = "Globex Ltd"
	w.Sim.AddAuthorizer(oa)
	admin := w.token(t, "acme", staffauth.RoleAdmin)
	w.Must(w.Authorize(admin, "wxacme0000000001"), http.StatusOK)
	w.Must(w.connectOfficialAccount(t, "acme"), http.StatusOK)
	r := w.MustError(w.Do("POST", "/admin/open-account", admin, nil), http.StatusUnprocessableEntity, "not_same_principal")
	if r.Str("error", "details", "solution") == "" {
		t.Fatalf("no fix %s", r.Raw)
	}
	if got := w.Must(w.Do("GET", "/admin/open-account", admin, nil), http.StatusOK); got.Get("shared") != false {
		t.Fatalf("view %s", got.Raw)
	}
}
