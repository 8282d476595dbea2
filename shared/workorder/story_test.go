package workorder_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

func newAPI(t *testing.T) *testenv.API { return testenv.Setup(t, functions.Mount) }

func order(lat, lng float64, device string) map[string]any {
	return map[string]any{"category": "repair", "description": "The compressor makes a grinding noise", "device_sn": device,
		"contact_name": "Li Lei", "phone": "13800138000", "address": "88 Century Avenue, Pudong, Shanghai",
		"latitude": lat, "longitude": lng}
}

func TestTerminalUserAndEngineerStory(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	engineer := a.Staff("acme", "eng-7", staffauth.RoleEngineer)

	// The admin prints a device QR code; a customer scans it and logs in.
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{"device_sn": "AC-2024-0001"}), 201).Str("scene")
	if len(scene) > 32 {
		t.Fatalf("scene %q is longer than WeChat allows", scene)
	}
	login := a.Must(a.Login(scene, "openid-li"), 200)
	if strings.Contains(login.Raw, "session_key") || login.Str("device_sn") != "AC-2024-0001" || login.Body["can_create_work_orders"] != true {
		t.Fatalf("login reply %s", login.Raw)
	}
	session := login.Str("session_token")

	// Refresh works and returns a usable session.
	refreshed := a.Must(a.Do("POST", "/portal/session/refresh", "", map[string]any{"refresh_token": login.Str("refresh_token")}), 200)
	if refreshed.Str("session_token") == "" {
		t.Fatal("no session from refresh")
	}

	// Create, then retry with the same key, then submit the same fault
	// again: one order.
	body := order(31.2304, 121.4737, "")
	body["scene"] = scene
	created := a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "k-0000000001"), 201)
	id := created.Str("work_order", "id")
	retry := a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "k-0000000001"), 200)
	if retry.Str("work_order", "id") != id || retry.Body["replayed"] != true {
		t.Fatalf("idempotent retry %s", retry.Raw)
	}
	dup := a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "k-0000000002"), 200)
	if dup.Str("work_order", "id") != id || dup.Body["duplicate"] != true {
		t.Fatalf("duplicate %s", dup.Raw)
	}
	changed := order(31.2304, 121.4737, "")
	changed["description"] = "Something else entirely"
	a.Must(a.Do("POST", "/portal/work-orders", session, changed, "Idempotency-Key", "k-0000000001"), 409)

	// My work orders.
	mine := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200)
	if list := mine.Body["work_orders"].([]any); len(list) != 1 {
		t.Fatalf("mine %s", mine.Raw)
	}

	// An engineer 2 km away sees it; one 40 km away does not.
	near := a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.4900&radius_km=5", engineer, nil), 200)
	if list := near.Body["work_orders"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("nearby %s", near.Raw)
	}
	far := a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31.5&lng=121.1&radius_km=15", engineer, nil), 200)
	if list := far.Body["work_orders"].([]any); len(list) != 0 {
		t.Fatalf("far %s", far.Raw)
	}

	// Accept, on the way, check in on site (too far first), work, check out, complete.
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", engineer, nil), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", a.Staff("acme", "eng-8", staffauth.RoleEngineer), nil), 409)
	taken := a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.4900&radius_km=5", engineer, nil), 200)
	if list := taken.Body["work_orders"].([]any); len(list) != 0 {
		t.Fatalf("an accepted order is still offered: %s", taken.Raw)
	}
	a.Must(a.Do("POST", "/portal/work-orders/"+id+"/cancel", session, nil), 200).Str() // cancel before en route works
	// The customer cancelled; submit again and go on with the new one.
	created = a.Must(a.Do("POST", "/portal/work-orders", session, body, "Idempotency-Key", "k-0000000003"), 201)
	id = created.Str("work_order", "id")
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", engineer, nil), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "en_route"}), 200)
	a.Must(a.Do("POST", "/portal/work-orders/"+id+"/cancel", session, nil), 409)
	tooFar := a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/check-in", engineer, map[string]any{"latitude": 31.25, "longitude": 121.4737}), 422)
	if !strings.Contains(tooFar.Raw, "too_far_from_site") {
		t.Fatal(tooFar.Raw)
	}
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/check-in", engineer, map[string]any{"latitude": 31.2306, "longitude": 121.4739}), 201)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/check-in", engineer, map[string]any{"latitude": 31.2306, "longitude": 121.4739}), 409)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "in_progress"}), 200)
	a.Clock.Advance(time.Hour)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/check-out", engineer, map[string]any{"latitude": 31.2306, "longitude": 121.4739}), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/status", engineer, map[string]any{"status": "completed", "note": "Replaced the bearing"}), 200)

	// A second visit the same day, 10 km away, for another customer.
	other := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-han"), 200).Str("session_token")
	second := a.Must(a.Do("POST", "/portal/work-orders", other, order(31.3204, 121.4737, "AC-2024-0002")), 201).Str("work_order", "id")
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/accept", engineer, nil), 200)
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/status", engineer, map[string]any{"status": "en_route"}), 200)
	a.Clock.Advance(20 * time.Minute) // the drive: 10 km in no time would be an implausible leg
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/check-in", engineer, map[string]any{"latitude": 31.3204, "longitude": 121.4737}), 201)
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/check-out", engineer, map[string]any{"latitude": 31.3204, "longitude": 121.4737}), 200)

	// The customer sees the timeline and rates once.
	detail := a.Must(a.Do("GET", "/portal/work-orders/"+id, session, nil), 200)
	var statuses []string
	for _, e := range detail.Body["timeline"].([]any) {
		statuses = append(statuses, e.(map[string]any)["status"].(string))
	}
	if strings.Join(statuses, ",") != "submitted,accepted,en_route,in_progress,completed" {
		t.Fatalf("timeline %v", statuses)
	}
	a.Must(a.Do("POST", "/portal/work-orders/"+id+"/rating", session, map[string]any{"stars": 5, "comment": "Quick and tidy"}), 200)
	a.Must(a.Do("POST", "/portal/work-orders/"+id+"/rating", session, map[string]any{"stars": 1}), 409)

	// Mileage: 10 km between the two check-ins of the day.
	day := a.Clock.Now().UTC().Format("2006-01-02")
	mileage := a.Must(a.Do("GET", "/engineer/mileage?from="+day+"&to="+day, engineer, nil), 200)
	if km := mileage.Body["total_km"].(float64); km < 9.9 || km > 10.1 {
		t.Fatalf("mileage %s", mileage.Raw)
	}

	// Tenant isolation: another tenant's engineer and customer see nothing.
	globexEng := a.Staff("globex", "eng-9", staffauth.RoleEngineer)
	a.Must(a.Do("POST", "/engineer/work-orders/"+second+"/accept", globexEng, nil), 404)
	gNear := a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31.2304&lng=121.4737&radius_km=15", globexEng, nil), 200)
	if len(gNear.Body["work_orders"].([]any)) != 0 {
		t.Fatalf("cross-tenant nearby %s", gNear.Raw)
	}
	a.Must(a.Do("GET", "/portal/work-orders/"+second, session, nil), 404) // another user's order
}

func TestRegistrationModes(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	a.Must(a.Do("PUT", "/admin/portal/settings", admin, map[string]any{"guest_access": false, "invitation_codes": true,
		"serial_registration": true, "max_checkin_distance_m": 500, "version": 0}), 200)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")

	// Guests cannot submit when guest access is off.
	guest := a.Must(a.Login(scene, "openid-guest"), 200)
	if guest.Body["can_create_work_orders"] != false {
		t.Fatalf("login %s", guest.Raw)
	}
	a.Must(a.Do("POST", "/portal/work-orders", guest.Str("session_token"), order(31.2, 121.4, "")), 403)

	// Invitation code: bound to a customer, limited uses, revocable.
	inv := a.Must(a.Do("POST", "/admin/invitations", admin, map[string]any{"customer_id": "cust-42", "max_uses": 1, "expires_in_days": 7}), 201)
	code := inv.Str("code")
	reg := a.Must(a.Do("POST", "/portal/registration/invitation", guest.Str("session_token"), map[string]any{"code": code}), 200)
	if reg.Str("user", "customer_id") != "cust-42" || reg.Str("user", "status") != "registered" {
		t.Fatalf("redeem %s", reg.Raw)
	}
	a.Must(a.Do("POST", "/portal/work-orders", guest.Str("session_token"), order(31.2, 121.4, "")), 201)
	second := a.Must(a.Login(scene, "openid-second"), 200).Str("session_token")
	a.Must(a.Do("POST", "/portal/registration/invitation", second, map[string]any{"code": code}), 409) // used up
	inv2 := a.Must(a.Do("POST", "/admin/invitations", admin, map[string]any{"customer_id": "cust-43", "max_uses": 5, "expires_in_days": 1}), 201).Str("code")
	a.Must(a.Do("DELETE", "/admin/invitations/"+inv2, admin, nil), 204)
	a.Must(a.Do("POST", "/portal/registration/invitation", second, map[string]any{"code": inv2}), 409) // revoked
	inv3 := a.Must(a.Do("POST", "/admin/invitations", admin, map[string]any{"customer_id": "cust-44", "max_uses": 5, "expires_in_days": 1}), 201).Str("code")
	a.Clock.Advance(25 * time.Hour)
	admin = a.Staff("acme", "admin-1", staffauth.RoleAdmin) // the earlier token expired too
	third := a.Must(a.Login(scene, "openid-third"), 200).Str("session_token")
	a.Must(a.Do("POST", "/portal/registration/invitation", third, map[string]any{"code": inv3}), 409) // expired

	// Serial number registration: pending until approved.
	pending := a.Must(a.Do("POST", "/portal/registration/device", third, map[string]any{"device_sn": "AC-2024-0042",
		"latitude": 31.2, "longitude": 121.4, "address": "1 Lujiazui Ring Road"}), 202)
	a.Must(a.Do("POST", "/portal/work-orders", third, order(31.2, 121.4, "")), 403)
	list := a.Must(a.Do("GET", "/admin/registrations", admin, nil), 200)
	if n := len(list.Body["pending"].([]any)); n != 1 {
		t.Fatalf("pending %s", list.Raw)
	}
	a.Must(a.Do("GET", "/admin/registrations", a.Staff("globex", "admin-2", staffauth.RoleAdmin), nil), 200)
	reviewed := map[string]any{"version": pending.Get("version")}
	a.Must(a.Do("POST", "/admin/registrations/"+pending.Str("id")+"/approve", a.Staff("globex", "admin-2", staffauth.RoleAdmin), reviewed), 404)
	a.Must(a.Do("POST", "/admin/registrations/"+pending.Str("id")+"/approve", admin, reviewed), 204)
	a.Must(a.Do("POST", "/portal/work-orders", third, order(31.2, 121.4, "")), 201)
}

func TestBadInputWritesNothing(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	scene := a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
	session := a.Must(a.Login(scene, "openid-x"), 200).Str("session_token")
	mut := func(k string, v any) map[string]any {
		b := order(31.2, 121.4, "")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"unknown category", mut("category", "magic"), 400, "invalid_field"},
		{"missing description", mut("description", nil), 400, "invalid_field"},
		{"description too long", mut("description", strings.Repeat("长", 1001)), 400, "invalid_field"},
		{"latitude out of range", mut("latitude", 91.0), 400, "invalid_field"},
		{"longitude out of range", mut("longitude", -181.0), 400, "invalid_field"},
		{"no location", map[string]any{"category": "repair", "description": "broken unit", "contact_name": "Li", "phone": "13800138000", "address": "somewhere 1"}, 400, "invalid_field"},
		{"bad phone", mut("phone", "12345"), 400, "invalid_field"},
		{"injection-looking serial", mut("device_sn", "x' OR 1=1 --"), 400, "invalid_field"},
		{"photo not from uploads", mut("photos", []string{"https://evil.example/x.jpg"}), 400, "invalid_field"},
		{"unknown field", mut("tenant_id", "globex"), 400, "unknown_field"},
		{"forged scene", mut("scene", "AAAAAAAAAA.BBBBBBBBBBB"), 400, "invalid_field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Do("POST", "/portal/work-orders", session, tc.body)
			if r.Status != tc.status || r.Str("error", "code") != tc.code {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	}
	r := a.Do("POST", "/portal/work-orders", session, map[string]any{"description": strings.Repeat("x", 20<<10)})
	if r.Status != 413 {
		t.Fatalf("oversized: %d", r.Status)
	}
	a.Must(a.Do("POST", "/portal/work-orders", "", order(31.2, 121.4, "")), 401)
	a.Must(a.Do("POST", "/portal/work-orders", session+"x", order(31.2, 121.4, "")), 401)
	a.Must(a.Do("POST", "/portal/work-orders", session, order(31.2, 121.4, ""), "Idempotency-Key", "bad key!"), 400)
	mine := a.Must(a.Do("GET", "/portal/work-orders", session, nil), 200)
	if n := len(mine.Body["work_orders"].([]any)); n != 0 {
		t.Fatalf("bad input wrote %d orders", n)
	}
	// Engineer endpoints.
	eng := a.Staff("acme", "eng-1", staffauth.RoleEngineer)
	a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=abc&lng=1", eng, nil), 400)
	a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31&lng=121&radius_km=500", eng, nil), 400)
	a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31&lng=121", session, nil), 401)
	a.Must(a.Do("GET", "/engineer/mileage?from=2026-12-01&to=2026-11-01", eng, nil), 400)
	a.Must(a.Do("POST", "/engineer/work-orders/not-an-id/accept", eng, nil), 404)
	// Login errors.
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": "000000000000bogus", "scene": scene}), 401)
	used := a.Sim.IssueJSCode(testenv.PublicAppID, "openid-y", "")
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": used, "scene": scene}), 200)
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": used, "scene": scene}), 409)
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": "abcdefgh1234", "scene": "forged.scene"}), 400)
	a.Must(a.Do("POST", "/portal/login", "", map[string]any{"code": "abcdefgh1234", "appid": "wx00000000000000ab"}), 403)
	// One for the session above, one bogus, the used code twice; the
	// forged scene and the unconnected appid never reach WeChat.
	if calls := a.Sim.Calls("jscode2session"); calls != 4 {
		t.Fatalf("code2session calls %d: a code must reach WeChat once per login attempt", calls)
	}
}

func TestRateLimitAgainstSpam(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	session := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-spam"), 200).Str("session_token")
	for i := range 10 {
		a.Must(a.Do("POST", "/portal/work-orders", session, order(31.2, 121.4, fmt.Sprintf("SN-%04d", i))), 201)
		a.Clock.Advance(time.Second)
	}
	r := a.Must(a.Do("POST", "/portal/work-orders", session, order(31.2, 121.4, "SN-9999")), 429)
	if r.Str("error", "code") != "rate_limited" {
		t.Fatal(r.Raw)
	}
	// My orders page by page, newest first, nothing lost or repeated.
	var serials []string
	cursor := ""
	for pages := 0; ; pages++ {
		page := a.Must(a.Do("GET", "/portal/work-orders?limit=4&cursor="+cursor, session, nil), 200)
		for _, o := range page.Body["work_orders"].([]any) {
			serials = append(serials, o.(map[string]any)["device_sn"].(string))
		}
		cursor = page.Str("next_cursor")
		if cursor == "" || pages > 5 {
			break
		}
	}
	if len(serials) != 10 || serials[0] != "SN-0009" || serials[9] != "SN-0000" {
		t.Fatalf("pages gave %v", serials)
	}
	// Another user's cursor is refused.
	other := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-other"), 200).Str("session_token")
	first := a.Must(a.Do("GET", "/portal/work-orders?limit=4", session, nil), 200).Str("next_cursor")
	a.Must(a.Do("GET", "/portal/work-orders?limit=4&cursor="+first, other, nil), 400)
}
