package terminaluser_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"wxchannel/shared/device"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

// Two places far apart, for two people who claim one serial number.
var (
	shanghai = map[string]any{"latitude": 31.2304, "longitude": 121.4737, "address": "88 Century Avenue, Pudong, Shanghai"}
	beijing  = map[string]any{"latitude": 39.9042, "longitude": 116.4074, "address": "1 Jianguomenwai Avenue, Beijing"}
)

// registerDevice submits a serial-number registration at place.
func (p *portal) registerDevice(session, sn string, place map[string]any, extra ...any) testenv.Reply {
	body := map[string]any{"device_sn": sn}
	maps.Copy(body, place)
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return p.Do("POST", "/portal/registration/device", session, body)
}

// pendingOf returns the admin's pending entry of a user's registration.
func (p *portal) pendingOf(admin, userID string) map[string]any {
	p.T.Helper()
	for _, e := range p.Must(p.Do("GET", "/admin/registrations", admin, nil), 200).List("pending") {
		if reg := e.(map[string]any); reg["user_id"] == userID {
			return reg
		}
	}
	p.T.Fatalf("no pending registration of %s", userID)
	return nil
}

// decide approves or rejects ("approve", "reject") the version on the
// admin's list of a user's registration, with the body's other fields.
func (p *portal) decide(admin, userID, decision string, body map[string]any) testenv.Reply {
	p.T.Helper()
	reg := p.pendingOf(admin, userID)
	if body == nil {
		body = map[string]any{}
	}
	body["version"] = reg["version"]
	return p.Do("POST", "/admin/registrations/"+userID+"/"+decision, admin, body)
}

// me is the user's own page.
func (p *portal) me(session string) testenv.Reply {
	return p.Must(p.Do("GET", "/portal/me", session, nil), 200)
}

// member is a signed-in terminal user.
type member struct {
	session, id string
}

func (p *portal) member(scene, openid string) member {
	p.T.Helper()
	r := p.Must(p.Login(scene, openid), 200)
	return member{session: r.Str("session_token"), id: r.Str("user", "user_id")}
}

// owner registers sn for a new user and has the admin approve it.
func (p *portal) owner(openid, sn string, place map[string]any) member {
	p.T.Helper()
	m := p.member(p.scene, openid)
	p.Must(p.registerDevice(m.session, sn, place), 202)
	p.Must(p.decide(p.admin, m.id, "approve", nil), 204)
	return m
}

// TestTwoPeopleClaimingOneSerialNumberAreFlaggedAndTheAdminDecides: a user
// in Shanghai and one in Beijing register the same serial number (in
// another case): the second is told at once, and the admin's queue flags
// both. The admin rejects one with a reason the user sees, approves the
// other (the device record is made), and refuses to hand the device to a
// third claimant unless told to transfer it.
func TestTwoPeopleClaimingOneSerialNumberAreFlaggedAndTheAdminDecides(t *testing.T) {
	p := newPortal(t)
	li, wang := p.member(p.scene, "openid-li"), p.member(p.scene, "openid-wang")

	first := p.Must(p.registerDevice(li.session, "AC-2024-0001", shanghai, "model", "KFR-35GW"), 202)
	if first.Body["sn_conflict"] != false {
		t.Fatalf("the first claim is flagged: %s", first.Raw)
	}
	second := p.Must(p.registerDevice(wang.session, "ac-2024-0001", beijing), 202)
	if second.Body["sn_conflict"] != true || second.Str("sn_conflict_reason") != "pending_for_another_user" ||
		second.Str("device_sn") != "AC-2024-0001" {
		t.Fatalf("the second claim %s", second.Raw)
	}
	for _, m := range []member{li, wang} {
		if reg := p.pendingOf(p.admin, m.id); reg["sn_conflict"] != true || reg["sn_conflict_reason"] != "pending_for_another_user" {
			t.Fatalf("the admin's queue shows %v", reg)
		}
	}
	// Submitting again with the same number keeps one claim, still flagged.
	again := p.Must(p.registerDevice(li.session, "AC-2024-0001", shanghai, "model", "KFR-35GW"), 202)
	if again.Body["sn_conflict"] != true || again.Get("version") != 2.0 {
		t.Fatalf("submitted again %s", again.Raw)
	}

	p.Must(p.decide(p.admin, wang.id, "reject", map[string]any{"reason": "  The serial number is on another customer's invoice  "}), 204)
	me := p.me(wang.session)
	if me.Str("registration", "status") != "rejected" || me.Str("registration", "reason") != "The serial number is on another customer's invoice" ||
		me.Str("user", "status") != "guest" || me.Get("user", "device_sn") != nil {
		t.Fatalf("the rejected user sees %s", me.Raw)
	}
	if reg := p.pendingOf(p.admin, li.id); reg["sn_conflict"] != false {
		t.Fatalf("after the rejection the queue still flags %v", reg)
	}

	p.Must(p.decide(p.admin, li.id, "approve", map[string]any{"customer_id": "cust-7"}), 204)
	dev := p.Must(p.Do("GET", "/admin/devices/ac-2024-0001", p.admin, nil), 200)
	if dev.Str("device", "sn") != "AC-2024-0001" || dev.Str("device", "model") != "KFR-35GW" || dev.Str("device", "owner_user_id") != li.id ||
		dev.Str("device", "owner_customer_id") != "cust-7" || dev.Str("device", "address") != shanghai["address"] ||
		dev.Get("device", "approved_at") != float64(p.Clock.Now().Unix()) || dev.Get("device", "pending_registrations") != 0.0 {
		t.Fatalf("the device record %s", dev.Raw)
	}
	if me := p.me(li.session); me.Str("user", "status") != "registered" || me.Str("registration", "status") != "approved" {
		t.Fatalf("the approved user sees %s", me.Raw)
	}

	// Wang tries again: now the number is registered to someone else.
	retry := p.Must(p.registerDevice(wang.session, "AC-2024-0001", beijing), 202)
	if retry.Str("sn_conflict_reason") != "registered_to_another_user" || retry.Get("version") != 2.0 {
		t.Fatalf("the claim of a registered device %s", retry.Raw)
	}
	p.MustError(p.decide(p.admin, wang.id, "approve", nil), 409, "device_registered_to_another_user")
	if p.status(wang.session) != "pending" || p.Must(p.Do("GET", "/admin/devices/AC-2024-0001", p.admin, nil), 200).Str("device", "owner_user_id") != li.id {
		t.Fatal("a refused approval wrote something")
	}
	p.Must(p.decide(p.admin, wang.id, "approve", map[string]any{"transfer": true}), 204)
	if owner := p.Must(p.Do("GET", "/admin/devices/AC-2024-0001", p.admin, nil), 200).Str("device", "owner_user_id"); owner != wang.id {
		t.Fatalf("after the transfer the owner is %s", owner)
	}
	if mine := p.Must(p.Do("GET", "/portal/devices", li.session, nil), 200).List("devices"); len(mine) != 0 {
		t.Fatalf("the previous owner still lists %v", mine)
	}
	if mine := p.Must(p.Do("GET", "/portal/devices", wang.session, nil), 200).List("devices"); len(mine) != 1 {
		t.Fatalf("the new owner lists %v", mine)
	}
}

// TestARejectionNeedsAReasonAndTheReviewedVersion: a rejection without a
// reason, with invisible characters in it, or of a version the user has
// replaced is refused and writes nothing; a decided registration is not
// pending any more (404), and its user may register again.
func TestARejectionNeedsAReasonAndTheReviewedVersion(t *testing.T) {
	p := newPortal(t)
	u := p.member(p.scene, "openid-reject")
	p.Must(p.registerDevice(u.session, "HX-0001", shanghai), 202)
	reg := p.pendingOf(p.admin, u.id)
	reject := func(body map[string]any) testenv.Reply {
		return p.Do("POST", "/admin/registrations/"+u.id+"/reject", p.admin, body)
	}
	p.MustError(reject(map[string]any{"version": reg["version"]}), 400, "invalid_field")
	p.MustError(reject(map[string]any{"version": reg["version"], "reason": "wrong\u202eserial"}), 400, "invalid_field")
	p.MustError(reject(map[string]any{"reason": "not ours"}), 400, "invalid_field")
	p.Must(p.registerDevice(u.session, "HX-0002", shanghai), 202)
	p.MustError(reject(map[string]any{"version": reg["version"], "reason": "not ours"}), 409, "registration_changed")
	p.MustError(p.Do("POST", "/admin/registrations/not-a-user/reject", p.admin, map[string]any{"version": 1, "reason": "no"}), 404, "not_found")
	if p.status(u.session) != "pending" {
		t.Fatal("a refused rejection changed the user")
	}

	p.Must(p.decide(p.admin, u.id, "reject", map[string]any{"reason": "not ours"}), 204)
	p.MustError(reject(map[string]any{"version": 2, "reason": "not ours"}), 404, "not_found")
	// Another tenant's admin cannot decide it.
	globexAdmin, _ := p.openTenant("globex")
	p.MustError(p.Do("POST", "/admin/registrations/"+u.id+"/approve", globexAdmin, map[string]any{"version": 2}), 404, "not_found")

	again := p.Must(p.registerDevice(u.session, "HX-0002", shanghai), 202)
	if again.Get("version") != 3.0 || again.Str("status") != "pending" || p.me(u.session).Get("registration", "reason") != nil {
		t.Fatalf("registering again after a rejection %s", again.Raw)
	}
	// The number the user moved away from waits on nobody: a new claim of it is not flagged.
	other := p.member(p.scene, "openid-other")
	if r := p.Must(p.registerDevice(other.session, "HX-0001", beijing), 202); r.Body["sn_conflict"] != false {
		t.Fatalf("a number nobody claims any more is flagged: %s", r.Raw)
	}
}

// seedOrder records a work order in its device's history in a transaction,
// as the work-order create transaction does with the same call.
func (p *portal) seedOrder(tenantID, sn, orderID, userID, category string, at time.Time) {
	p.T.Helper()
	tx := p.DB.Dynamo.WriteTx()
	device.AddOrderLink(tx, p.DB.Service, tenantID, sn, device.NewOrder{ID: orderID, UserID: userID, Category: category,
		Status: "submitted", CreatedAt: at})
	if err := tx.Run(context.Background()); err != nil {
		p.T.Fatal(err)
	}
}

// TestMyDevicesListTheOrdersIRaisedForEachNewestFirst: a registered user
// lists their device with the orders they raised for it, newest first; an
// order someone else raised for the same serial number is in the admin's
// history but not in the owner's list; nobody else lists the device.
func TestMyDevicesListTheOrdersIRaisedForEachNewestFirst(t *testing.T) {
	p := newPortal(t)
	li := p.owner("openid-li", "AC-2024-0001", shanghai)
	var ids []string
	for _, category := range []string{"installation", "repair"} {
		body := map[string]any{"category": category, "description": "The compressor makes a grinding noise", "device_sn": "AC-2024-0001",
			"contact_name": "Li Lei", "phone": "13800138000"}
		maps.Copy(body, shanghai)
		created := p.Must(p.Do("POST", "/portal/work-orders", li.session, body), 201)
		ids = append(ids, created.Str("work_order", "id")) // the create's transaction links it to the device
		p.Clock.Advance(time.Minute)
	}
	p.seedOrder("acme", "AC-2024-0001", "261126aaaaaaaaaaaa", "someone-else", "complaint", p.Clock.Now())
	// The history shows each order's status now, not at submission.
	p.Must(p.Do("POST", "/portal/work-orders/"+ids[0]+"/cancel", li.session, nil), 200)

	devices := p.Must(p.Do("GET", "/portal/devices", li.session, nil), 200).List("devices")
	if len(devices) != 1 {
		t.Fatalf("my devices %v", devices)
	}
	mine := devices[0].(map[string]any)
	orders := mine["orders"].([]any)
	if mine["sn"] != "AC-2024-0001" || mine["address"] != shanghai["address"] || len(orders) != 2 {
		t.Fatalf("my device %v", mine)
	}
	for i, want := range []struct{ id, status string }{{ids[1], "submitted"}, {ids[0], "cancelled"}} {
		o := orders[i].(map[string]any)
		if o["id"] != want.id || o["status"] != want.status || o["user_id"] != nil {
			t.Fatalf("order %d of my device %v, want %s %s", i, o, want.id, want.status)
		}
	}

	history := p.Must(p.Do("GET", "/admin/devices/AC-2024-0001?limit=2", p.admin, nil), 200)
	if list := history.List("orders"); len(list) != 2 || list[0].(map[string]any)["user_id"] != "someone-else" ||
		history.Str("next_cursor") == "" {
		t.Fatalf("the admin's history %s", history.Raw)
	}
	rest := p.Must(p.Do("GET", "/admin/devices/AC-2024-0001?limit=2&cursor="+history.Str("next_cursor"), p.admin, nil), 200)
	if list := rest.List("orders"); len(list) != 1 || list[0].(map[string]any)["id"] != ids[0] {
		t.Fatalf("the history's second page %s", rest.Raw)
	}
	// A cursor of another device's history is refused.
	p.owner("openid-zhao", "AC-2024-0002", beijing)
	p.MustError(p.Do("GET", "/admin/devices/AC-2024-0002?cursor="+history.Str("next_cursor"), p.admin, nil), 400, "invalid_field")

	stranger := p.member(p.scene, "openid-stranger")
	if list := p.Must(p.Do("GET", "/portal/devices", stranger.session, nil), 200).List("devices"); len(list) != 0 {
		t.Fatalf("a stranger lists %v", list)
	}
	p.MustError(p.Do("GET", "/portal/devices", "", nil), 401, "missing_session")
}

// TestTheAdminListsAndSearchesDevicesAPageAtATime: registered devices are
// listed in serial-number order a page at a time, searched by the start of
// their number in any case; pending claims are not devices; another
// tenant's admin sees none of them and cannot page with their cursor.
func TestTheAdminListsAndSearchesDevicesAPageAtATime(t *testing.T) {
	p := newPortal(t)
	sns := []string{"AC-0003", "AC-0001", "BX-0001", "AC-0002", "AC-1000"}
	for i, sn := range sns {
		p.owner(fmt.Sprintf("openid-owner-%d", i), sn, shanghai)
	}
	p.Must(p.registerDevice(p.member(p.scene, "openid-pending").session, "AC-0004", shanghai), 202)

	list := func(query string) testenv.Reply {
		return p.Must(p.Do("GET", "/admin/devices"+query, p.admin, nil), 200)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page := list("?q=ac-0&limit=2&cursor=" + cursor)
		for _, d := range page.List("devices") {
			got = append(got, d.(map[string]any)["sn"].(string))
		}
		if cursor = page.Str("next_cursor"); cursor == "" || pages > 5 {
			break
		}
	}
	if fmt.Sprint(got) != "[AC-0001 AC-0002 AC-0003]" {
		t.Fatalf("searching ac-0 found %v", got)
	}
	if all := list("").List("devices"); len(all) != 5 || all[4].(map[string]any)["sn"] != "BX-0001" {
		t.Fatalf("all devices %v", all)
	}
	first := list("?limit=1")
	for _, bad := range []string{"?limit=0", "?limit=101", "?q=AC%25", "?cursor=!!!", "?cursor=e30"} {
		p.MustError(p.Do("GET", "/admin/devices"+bad, p.admin, nil), 400, "invalid_field")
	}

	globexAdmin, _ := p.openTenant("globex")
	if none := p.Must(p.Do("GET", "/admin/devices", globexAdmin, nil), 200).List("devices"); len(none) != 0 {
		t.Fatalf("another tenant lists %v", none)
	}
	p.MustError(p.Do("GET", "/admin/devices?cursor="+first.Str("next_cursor"), globexAdmin, nil), 400, "invalid_field")
	p.MustError(p.Do("GET", "/admin/devices/AC-0001", globexAdmin, nil), 404, "not_found")
	p.MustError(p.Do("GET", "/admin/devices/AC-0004", p.admin, nil), 404, "not_found")
	p.MustError(p.Do("GET", "/admin/devices/AC_0001", p.admin, nil), 404, "not_found")
	p.MustError(p.Do("GET", "/admin/devices", p.Staff("acme", "eng-1", staffauth.RoleEngineer), nil), 403, "forbidden_role")
}
