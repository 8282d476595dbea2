package functions_test

import (
	"context"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/usersession"
	"wxchannel/shared/wechat/wechatsim"
)

// sessionWorld is a tenant with a device QR scene for the public mini
// program and, when asked, its own enterprise mini program bound.
type sessionWorld struct {
	*testenv.API
	admin, scene string
}

const enterpriseApp = "wxse55000000000a1"

func newSessionWorld(t *testing.T, bindEnterprise bool) *sessionWorld {
	t.Helper()
	w := &sessionWorld{API: testenv.Setup(t, functions.Mount)}
	w.admin = w.Staff("acme", "admin-1", staffauth.RoleAdmin)
	w.scene = w.Must(w.Do("POST", "/admin/qr-scenes", w.admin, map[string]any{}), 201).Str("scene")
	if bindEnterprise {
		w.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: enterpriseApp, Name: "Acme", UserName: "gh_se55a1", PrincipalName: "Acme Ltd",
			HeadImg: "https://img.example/a.png", Signature: "after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
			Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
		w.Must(w.Authorize(w.admin, enterpriseApp), 200)
	}
	return w
}

// enterpriseLogin signs openid in through the tenant's own mini program.
func (w *sessionWorld) enterpriseLogin(openid string) testenv.Reply {
	w.T.Helper()
	code := w.Sim.IssueJSCode(enterpriseApp, openid, "")
	return w.Must(w.Do("POST", "/portal/login", "", map[string]any{"code": code, "appid": enterpriseApp}), 200)
}

func (w *sessionWorld) refresh(token string) testenv.Reply {
	w.T.Helper()
	return w.Do("POST", "/portal/session/refresh", "", map[string]any{"refresh_token": token})
}

// TestRefreshTokensAreSingleUseAndReuseEndsTheChain: each refresh returns a
// new refresh token and spends the one presented; presenting a spent one
// again (a stolen copy) ends the whole chain, the thief's and the owner's.
func TestRefreshTokensAreSingleUseAndReuseEndsTheChain(t *testing.T) {
	w := newSessionWorld(t, false)
	login := w.Must(w.Login(w.scene, "openid-rotate"), 200)
	first := login.Str("refresh_token")
	second := w.Must(w.refresh(first), 200)
	if second.Str("refresh_token") == first || second.Str("session_token") == "" {
		t.Fatalf("a refresh must rotate the refresh token: %s", second.Raw)
	}
	w.Must(w.Do("GET", "/portal/me", second.Str("session_token"), nil), 200)
	w.MustError(w.refresh(first), 401, "refresh_token_reused")
	w.MustError(w.refresh(second.Str("refresh_token")), 401, "session_revoked")
	// A fresh wx.login starts a new chain.
	again := w.Must(w.Login(w.scene, "openid-rotate"), 200)
	w.Must(w.refresh(again.Str("refresh_token")), 200)
}

// TestSessionChainsEndAfterNinetyDays: refreshing every few weeks keeps a
// session, but never beyond the chain's absolute age.
func TestSessionChainsEndAfterNinetyDays(t *testing.T) {
	w := newSessionWorld(t, false)
	token := w.Must(w.Login(w.scene, "openid-forever"), 200).Str("refresh_token")
	for range 4 {
		w.Clock.Advance(20 * 24 * time.Hour)
		token = w.Must(w.refresh(token), 200).Str("refresh_token")
	}
	w.Clock.Advance(usersession.ChainTTL - 80*24*time.Hour)
	w.MustError(w.refresh(token), 401, "session_expired")
}

// TestUnbindEndsTheEnterpriseMiniProgramsSessions: after the admin unbinds
// the enterprise mini program, its users' refresh fails at once and their
// sessions end within a minute; users of the public mini program carry on.
func TestUnbindEndsTheEnterpriseMiniProgramsSessions(t *testing.T) {
	w := newSessionWorld(t, true)
	ent := w.enterpriseLogin("openid-ent")
	pub := w.Must(w.Login(w.scene, "openid-pub"), 200)
	w.Must(w.Do("GET", "/portal/me", ent.Str("session_token"), nil), 200)

	w.Must(w.Do("DELETE", "/admin/miniprogram/binding", w.admin, nil), 204)
	w.MustError(w.refresh(ent.Str("refresh_token")), 401, "mini_program_unbound")
	w.Clock.Advance(61 * time.Second)
	w.MustError(w.Do("GET", "/portal/me", ent.Str("session_token"), nil), 401, "mini_program_unbound")
	w.MustError(w.Do("POST", "/portal/work-orders", ent.Str("session_token"), faultOrder("")), 401, "mini_program_unbound")
	w.MustError(w.Do("GET", "/portal/work-orders", ent.Str("session_token"), nil), 401, "mini_program_unbound")

	w.Must(w.Do("GET", "/portal/me", pub.Str("session_token"), nil), 200)
	w.Must(w.refresh(pub.Str("refresh_token")), 200)

	// Binding the same mini program again is a new binding: the sessions
	// of the old one stay ended, new logins work.
	w.Must(w.Authorize(w.admin, enterpriseApp), 200)
	w.Clock.Advance(61 * time.Second)
	w.MustError(w.Do("GET", "/portal/me", ent.Str("session_token"), nil), 401, "mini_program_unbound")
	fresh := w.enterpriseLogin("openid-ent")
	w.Must(w.Do("GET", "/portal/me", fresh.Str("session_token"), nil), 200)
}

// TestRevokedAuthorizationEndsTheEnterpriseMiniProgramsSessions: WeChat's
// unauthorized push ends the sessions as an unbind does.
func TestRevokedAuthorizationEndsTheEnterpriseMiniProgramsSessions(t *testing.T) {
	w := newSessionWorld(t, true)
	ent := w.enterpriseLogin("openid-revoked")
	w.Sim.Unauthorize(enterpriseApp)
	if err := w.Sim.PushAuthEvent(context.Background(), w.PushURL(), "unauthorized", enterpriseApp, ""); err != nil {
		t.Fatal(err)
	}
	w.MustError(w.refresh(ent.Str("refresh_token")), 401, "mini_program_unbound")
	w.Clock.Advance(61 * time.Second)
	w.MustError(w.Do("GET", "/portal/me", ent.Str("session_token"), nil), 401, "mini_program_unbound")
}
