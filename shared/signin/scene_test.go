package signin_test

import (
	"strings"
	"testing"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat/wechatsim"
)

// acmeApp is the enterprise mini program acme binds in these tests.
const acmeApp = "wxacme00000000e1"

// world is the test world: tenant "acme" (display name "Acme Service",
// serial registration on) and its admin.
type world struct {
	*testenv.API
	admin   string
	version float64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{API: testenv.Setup(t, functions.Mount)}
	w.admin = w.Staff("acme", "admin-1", staffauth.RoleAdmin)
	w.settings(false)
	return w
}

// settings saves acme's settings with its public QR codes retired or kept.
func (w *world) settings(retire bool) {
	w.T.Helper()
	saved := w.Must(w.Do("PUT", "/admin/portal/settings", w.admin, map[string]any{"display_name": "Acme Service", "guest_access": true,
		"serial_registration": true, "max_checkin_distance_m": 500, "retire_public_qr": retire, "version": w.version}), 200)
	w.version = saved.Get("version").(float64)
}

// scene is a QR scene of the tenant, for a device when sn is set.
func (w *world) scene(admin, sn string) string {
	w.T.Helper()
	body := map[string]any{}
	if sn != "" {
		body["device_sn"] = sn
	}
	return w.Must(w.Do("POST", "/admin/qr-scenes", admin, body), 201).Str("scene")
}

// bind connects acme's own mini program.
func (w *world) bind() {
	w.T.Helper()
	w.Sim.AddAuthorizer(wechatsim.Authorizer{AppID: acmeApp, Name: "Acme Service", UserName: "gh_acme0000e1", PrincipalName: "Acme Ltd",
		HeadImg: "https://img.example/a.png", Signature: "Acme after-sales", MiniProgram: true, Permissions: []int{17, 18, 30},
		Categories: []wechatsim.Category{{First: "Tools", Second: "Equipment management"}}})
	w.Must(w.Authorize(w.admin, acmeApp), 200)
}

// forge changes the last character of a scene's MAC.
func forge(scene string) string {
	if strings.HasSuffix(scene, "A") {
		return scene[:len(scene)-1] + "B"
	}
	return scene[:len(scene)-1] + "A"
}

// enterpriseLogin signs openid in through acme's own mini program, with
// the scene it was opened with ("" for none).
func (w *world) enterpriseLogin(openid, scene string) testenv.Reply {
	body := map[string]any{"code": w.Sim.IssueJSCode(acmeApp, openid, ""), "appid": acmeApp}
	if scene != "" {
		body["scene"] = scene
	}
	return w.Do("POST", "/portal/login", "", body)
}

// TestThePublicQRCodesWorkUntilTheTenantRetiresThem: a tenant keeps its
// public mini program codes by default; once it retires them, a login with
// one is refused before WeChat is asked, a session of the public mini
// program cannot be refreshed, and the refusal names the enterprise mini
// program once one is bound; the enterprise mini program still takes the
// same scenes; keeping them again brings the codes back.
func TestThePublicQRCodesWorkUntilTheTenantRetiresThem(t *testing.T) {
	w := newWorld(t)
	sticker := w.scene(w.admin, "AC-0001")
	login := w.Must(w.Login(sticker, "openid-li"), 200)
	if login.Str("device_sn") != "AC-0001" {
		t.Fatalf("login with a kept public code %s", login.Raw)
	}

	w.settings(true)
	before := w.Sim.Calls("jscode2session")
	refused := w.MustError(w.Login(sticker, "openid-li"), 403, "public_qr_retired")
	if w.Sim.Calls("jscode2session") != before || refused.Get("error", "details") != nil {
		t.Fatalf("a retired code asked WeChat or named nothing bound: %s", refused.Raw)
	}
	w.MustError(w.Do("POST", "/portal/session/refresh", "", map[string]any{"refresh_token": login.Str("refresh_token")}), 403,
		"public_qr_retired")

	w.bind()
	named := w.MustError(w.Login(sticker, "openid-wang"), 403, "public_qr_retired")
	if named.Str("error", "details", "mini_program_name") != "Acme Service" || !strings.Contains(named.Str("error", "message"), "Acme Service") {
		t.Fatalf("the refusal does not point to the enterprise mini program: %s", named.Raw)
	}
	if r := w.Must(w.enterpriseLogin("openid-li", sticker), 200); r.Str("device_sn") != "AC-0001" {
		t.Fatalf("the enterprise mini program with the same scene %s", r.Raw)
	}

	w.settings(false)
	w.Must(w.Login(sticker, "openid-wang"), 200)
}

// TestTheEnterpriseMiniProgramTakesItsTenantsScenesOnly: the enterprise
// mini program logs in with or without a scene; a scene of another tenant
// is refused (403, naming nobody) and a forged one is invalid, both before
// WeChat is asked. The public mini program may send its appid with the
// scene; it cannot log in without one.
func TestTheEnterpriseMiniProgramTakesItsTenantsScenesOnly(t *testing.T) {
	w := newWorld(t)
	w.bind()
	device := w.scene(w.admin, "ac-0001")
	foreign := w.scene(w.Staff("globex", "admin-9", staffauth.RoleAdmin), "GX-0001")

	if r := w.Must(w.enterpriseLogin("openid-li", device), 200); r.Str("device_sn") != "AC-0001" || r.Str("user", "tenant_id") != "acme" {
		t.Fatalf("login with a device scene %s", r.Raw)
	}
	if r := w.Must(w.enterpriseLogin("openid-li", ""), 200); r.Get("device_sn") != nil {
		t.Fatalf("login without a scene %s", r.Raw)
	}
	before := w.Sim.Calls("component_jscode2session")
	other := w.MustError(w.enterpriseLogin("openid-li", foreign), 403, "scene_not_for_this_mini_program")
	if strings.Contains(strings.ToLower(other.Raw), "globex") || strings.Contains(other.Raw, "GX-0001") {
		t.Fatalf("the refusal leaks the other tenant: %s", other.Raw)
	}
	w.MustError(w.enterpriseLogin("openid-li", forge(device)), 400, "invalid_field")
	w.MustError(w.enterpriseLogin("openid-li", strings.Repeat("x", 40)), 400, "invalid_field")
	if w.Sim.Calls("component_jscode2session") != before {
		t.Fatal("a refused scene cost a WeChat call")
	}

	public := map[string]any{"code": w.Sim.IssueJSCode(testenv.PublicAppID, "openid-pub", ""), "appid": testenv.PublicAppID, "scene": device}
	if r := w.Must(w.Do("POST", "/portal/login", "", public), 200); r.Str("device_sn") != "AC-0001" {
		t.Fatalf("the public mini program with its appid %s", r.Raw)
	}
	delete(public, "scene")
	public["code"] = w.Sim.IssueJSCode(testenv.PublicAppID, "openid-pub", "")
	w.MustError(w.Do("POST", "/portal/login", "", public), 400, "invalid_field")
	w.MustError(w.Do("POST", "/portal/login", "", map[string]any{"code": w.Sim.IssueJSCode(acmeApp, "openid-li", "")}), 400,
		"invalid_request")
}

// TestAScannedSceneResolvesForItsTenantsUsersInBothMiniPrograms: a signed-in
// user of the public or the enterprise mini program looks a scene up: the
// enterprise's name and, for a device code, the device and whether it is
// theirs; a forged scene, another tenant's scene and a malformed one are
// the same 404; without a session, 401.
func TestAScannedSceneResolvesForItsTenantsUsersInBothMiniPrograms(t *testing.T) {
	w := newWorld(t)
	w.bind()
	device, portal := w.scene(w.admin, "AC-0001"), w.scene(w.admin, "")
	foreign := w.scene(w.Staff("globex", "admin-9", staffauth.RoleAdmin), "AC-0001")

	owner := w.Must(w.Login(device, "openid-owner"), 200)
	ownerSession := owner.Str("session_token")
	w.Must(w.Do("POST", "/portal/registration/device", ownerSession, map[string]any{"device_sn": "AC-0001", "model": "KFR-35GW",
		"latitude": 31.2304, "longitude": 121.4737, "address": "88 Century Avenue, Pudong, Shanghai"}), 202)
	w.Must(w.Do("POST", "/admin/registrations/"+owner.Str("user", "user_id")+"/approve", w.admin, map[string]any{"version": 1}), 204)
	visitor := w.Must(w.enterpriseLogin("openid-visitor", device), 200).Str("session_token")

	for _, tc := range []struct {
		name, session string
		yours         bool
	}{{"the owner, public mini program", ownerSession, true}, {"a visitor, enterprise mini program", visitor, false}} {
		r := w.Must(w.Do("GET", "/portal/scene/"+device, tc.session, nil), 200)
		if r.Str("tenant", "display_name") != "Acme Service" || r.Str("device", "sn") != "AC-0001" || r.Str("device", "model") != "KFR-35GW" ||
			r.Get("device", "registered_to_you") != tc.yours || strings.Contains(r.Raw, "owner") || strings.Contains(r.Raw, "Century") {
			t.Fatalf("%s: %s", tc.name, r.Raw)
		}
		if p := w.Must(w.Do("GET", "/portal/scene/"+portal, tc.session, nil), 200); p.Get("device") != nil ||
			p.Str("tenant", "display_name") != "Acme Service" {
			t.Fatalf("%s, the portal code: %s", tc.name, p.Raw)
		}
		var first string
		for _, bad := range []string{foreign, forge(device), "x", strings.Repeat("y", 33)} {
			miss := w.MustError(w.Do("GET", "/portal/scene/"+bad, tc.session, nil), 404, "scene_not_found")
			if first == "" {
				first = miss.Str("error", "message")
			} else if miss.Str("error", "message") != first {
				t.Fatalf("%s: %q answers differently: %s", tc.name, bad, miss.Raw)
			}
		}
	}
	w.MustError(w.Do("GET", "/portal/scene/"+device, "", nil), 401, "missing_session")
}
