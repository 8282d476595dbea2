package workorder_test

import (
	"strings"
	"testing"

	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat/wechatsim"
)

// TestEnterpriseMiniProgramLogin binds a tenant's own mini program through
// the authorization flow, then logs a user in through it
// (sns/component/jscode2session).
func TestEnterpriseMiniProgramLogin(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	const appid = "wxacme00000000e1"
	a.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: appid, Name: "Acme Service", UserName: "gh_acme0000e1", PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/a.png", Signature: "Acme after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})

	// Before binding, the appid is refused without calling WeChat.
	code := a.Sim.IssueJSCode(appid, "openid-e1", "union-e1")
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": code, "appid": appid}), 403)

	a.Must(a.Authorize(admin, appid), 200)

	login := a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": code, "appid": appid}), 200)
	if strings.Contains(login.Raw, "session_key") || login.Str("user", "tenant_id") != "acme" {
		t.Fatalf("login %s", login.Raw)
	}
	if a.Sim.Calls("component_jscode2session") != 1 {
		t.Fatalf("component code2session calls %d", a.Sim.Calls("component_jscode2session"))
	}
	// Same openid again: the same user, not a new one.
	again := a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": a.Sim.IssueJSCode(appid, "openid-e1", "union-e1"), "appid": appid}), 200)
	if again.Str("user", "user_id") != login.Str("user", "user_id") {
		t.Fatal("a second login created another user")
	}
	// Revoked in WeChat but not yet pushed: WeChat's 61003 becomes a 403.
	a.Sim.Unauthorize(appid)
	r := a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": a.Sim.IssueJSCode(appid, "openid-e1", ""), "appid": appid}), 403)
	if r.Str("error", "code") != "mini_program_not_authorized" {
		t.Fatal(r.Raw)
	}
	// WeChat's per-user minute quota becomes a 429 with Retry-After.
	a.Sim.InjectError("jscode2session", 45011, 1)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	q := a.Login(scene, "openid-q")
	if q.Status != 429 || q.Str("error", "code") != "login_rate_limited" {
		t.Fatalf("quota %d %s", q.Status, q.Raw)
	}
}
