package terminaluser_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/terminaluser"
)

// portal is the test world with one tenant ("acme") whose portal takes
// invitation codes and serial-number registrations.
type portal struct {
	*testenv.API
	admin, scene string
}

func newPortal(t *testing.T) *portal {
	t.Helper()
	p := &portal{API: testenv.Setup(t, functions.Mount)}
	p.admin, p.scene = p.openTenant("acme")
	return p
}

// openTenant turns a tenant's registration modes on and returns its admin
// token and its portal QR scene.
func (p *portal) openTenant(tenantID string) (admin, scene string) {
	admin = p.Staff(tenantID, "admin-1", staffauth.RoleAdmin)
	p.Must(p.Do("PUT", "/admin/portal/settings", admin, map[string]any{"guest_access": false, "invitation_codes": true,
		"serial_registration": true, "max_checkin_distance_m": 500, "version": 0}), 200)
	return admin, p.Must(p.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene")
}

func (p *portal) user(scene, openid string) string {
	return p.Must(p.Login(scene, openid), 200).Str("session_token")
}

func (p *portal) invitation(admin string, maxUses, days int) string {
	return p.Must(p.Do("POST", "/admin/invitations", admin, map[string]any{"customer_id": "cust-1", "max_uses": maxUses,
		"expires_in_days": days}), 201).Str("code")
}

func (p *portal) redeem(session, code string) testenv.Reply {
	return p.Do("POST", "/portal/registration/invitation", session, map[string]any{"code": code})
}

func (p *portal) status(session string) string {
	return p.Must(p.Do("GET", "/portal/me", session, nil), 200).Str("user", "status")
}

// TestEveryUnusableInvitationCodeGetsTheSameAnswer: unknown, revoked,
// expired and used-up codes are refused alike, so an answer does not tell
// which codes exist. A registered user is told so whatever the code.
func TestEveryUnusableInvitationCodeGetsTheSameAnswer(t *testing.T) {
	p := newPortal(t)
	usedUp := p.invitation(p.admin, 1, 7)
	p.Must(p.redeem(p.user(p.scene, "openid-first"), usedUp), 200)
	revoked := p.invitation(p.admin, 5, 7)
	p.Must(p.Do("DELETE", "/admin/invitations/"+revoked, p.admin, nil), 204)
	expired := p.invitation(p.admin, 5, 1)
	p.Clock.Advance(25 * time.Hour)
	p.admin = p.Staff("acme", "admin-1", staffauth.RoleAdmin)

	var first testenv.Reply
	for i, code := range []string{"ZZZZ2345", revoked, expired, usedUp} {
		r := p.MustError(p.redeem(p.user(p.scene, fmt.Sprintf("openid-try-%d", i)), code), 409, "invitation_invalid")
		if i == 0 {
			first = r
		} else if r.Str("error", "message") != first.Str("error", "message") {
			t.Fatalf("code %d answered %s, the unknown code %s", i, r.Raw, first.Raw)
		}
	}

	registered := p.user(p.scene, "openid-first")
	valid := p.invitation(p.admin, 5, 7)
	for _, code := range []string{valid, "ZZZZ2345", "ZZZZ2346", "ZZZZ2347", "ZZZZ2348", "ZZZZ2349", "ZZZZ2352"} {
		p.MustError(p.redeem(registered, code), 409, "already_registered")
	}
}

// TestGuessingInvitationCodesLocksTheUserOutUntilTheHourEnds: after five
// wrong codes in an hour the user is refused with 429 and Retry-After, even
// with a valid code, and nothing is written; other users are not locked,
// and the next hour the user can try again.
func TestGuessingInvitationCodesLocksTheUserOutUntilTheHourEnds(t *testing.T) {
	p := newPortal(t)
	p.Clock.Advance(15 * time.Minute)
	valid := p.invitation(p.admin, 5, 7)
	guesser := p.user(p.scene, "openid-guesser")
	for i := range terminaluser.MaxFailedRedemptionsPerUser {
		p.MustError(p.redeem(guesser, fmt.Sprintf("ZZZZ%04d", 2000+i)), 409, "invitation_invalid")
	}
	r := p.MustError(p.redeem(guesser, "ZZZZ2999"), 429, "too_many_attempts")
	if got := r.Header.Get("Retry-After"); got != "2700" {
		t.Fatalf("Retry-After %q, want the 2700 seconds left in the hour", got)
	}
	p.Calls.Reset()
	p.MustError(p.redeem(guesser, valid), 429, "too_many_attempts")
	if p.status(guesser) != "guest" {
		t.Fatal("a locked-out user was registered")
	}
	if c := p.Calls.Calls(); c["TransactWriteItems"] != 1 || c["PutItem"]+c["UpdateItem"] != 0 {
		t.Fatalf("a locked-out redemption made %v; want only its refused transaction", c)
	}

	p.Must(p.redeem(p.user(p.scene, "openid-other"), valid), 200)
	p.Clock.Advance(45 * time.Minute)
	p.Must(p.redeem(guesser, valid), 200)
	if p.status(guesser) != "registered" {
		t.Fatal("the lock outlived its hour")
	}
}

// TestGuessingInvitationCodesAcrossUsersLocksTheTenant: fifty wrong codes
// in an hour from many users lock the tenant's invitation codes, even for
// a new user with a valid code; another tenant is not affected.
func TestGuessingInvitationCodesAcrossUsersLocksTheTenant(t *testing.T) {
	p := newPortal(t)
	valid := p.invitation(p.admin, 5, 7)
	perUser := terminaluser.MaxFailedRedemptionsPerUser
	for u := range terminaluser.MaxFailedRedemptionsPerTenant / perUser {
		session := p.user(p.scene, fmt.Sprintf("openid-bot-%d", u))
		for i := range perUser {
			p.MustError(p.redeem(session, fmt.Sprintf("ZZZZ%04d", 2000+u*perUser+i)), 409, "invitation_invalid")
		}
	}
	fresh := p.user(p.scene, "openid-fresh")
	p.MustError(p.redeem(fresh, valid), 429, "too_many_attempts")
	if p.status(fresh) != "guest" {
		t.Fatal("a redemption went through a locked tenant")
	}

	globexAdmin, globexScene := p.openTenant("globex")
	p.Must(p.redeem(p.user(globexScene, "openid-globex"), p.invitation(globexAdmin, 1, 7)), 200)
}

// TestRedeemingAnInvitationCostsWhatItDidBeforeTheLockout: the lockout is
// checked inside the redemption's one transaction, so a redemption still
// reads the profile, the settings and the code and writes once; a wrong
// code costs that one write (its count) and no more.
func TestRedeemingAnInvitationCostsWhatItDidBeforeTheLockout(t *testing.T) {
	p := newPortal(t)
	valid := p.invitation(p.admin, 5, 7)
	for _, tc := range []struct {
		name, code string
		status     int
	}{
		{"a valid code", valid, 200},
		{"an unknown code", "ZZZZ2345", 409},
	} {
		session := p.user(p.scene, "openid-"+tc.code)
		p.Calls.Reset()
		p.Must(p.redeem(session, tc.code), tc.status)
		c := p.Calls.Calls()
		if c["BatchGetItem"] != 1 || c["GetItem"] != 1 || c["TransactWriteItems"] != 1 || len(c) != 3 {
			t.Fatalf("%s: %v; want 1 BatchGetItem (profile and settings), 1 GetItem (code) and 1 TransactWriteItems", tc.name, c)
		}
	}
}

// TestApprovalIsPinnedToTheVersionTheAdminReviewed: a user who submits the
// registration again (another serial number) after the admin reviewed it
// makes the approval fail with 409 and nothing written; approving the
// version on the list registers the user with what the admin saw.
func TestApprovalIsPinnedToTheVersionTheAdminReviewed(t *testing.T) {
	p := newPortal(t)
	user := p.user(p.scene, "openid-device")
	register := func(sn string) testenv.Reply {
		return p.Must(p.Do("POST", "/portal/registration/device", user, map[string]any{"device_sn": sn,
			"latitude": 31.2, "longitude": 121.4, "address": "1 Lujiazui Ring Road"}), 202)
	}
	pending := func() map[string]any {
		list := p.Must(p.Do("GET", "/admin/registrations", p.admin, nil), 200).List("pending")
		if len(list) != 1 {
			t.Fatalf("pending %v", list)
		}
		return list[0].(map[string]any)
	}
	approve := func(version any) testenv.Reply {
		return p.Do("POST", "/admin/registrations/"+pending()["id"].(string)+"/approve", p.admin, map[string]any{"version": version})
	}

	first := register("AC-2024-0001")
	reviewed := pending()
	if reviewed["device_sn"] != "AC-2024-0001" || reviewed["version"] != first.Get("version") || reviewed["version"] != 1.0 {
		t.Fatalf("reviewed %v after %s", reviewed, first.Raw)
	}
	if again := register("AC-2024-0666"); again.Get("version") != 2.0 {
		t.Fatalf("submitted again %s", again.Raw)
	}
	p.MustError(approve(reviewed["version"]), 409, "registration_changed")
	if p.status(user) != "pending" {
		t.Fatal("a refused approval registered the user")
	}
	p.MustError(p.Do("POST", "/admin/registrations/"+reviewed["id"].(string)+"/approve", p.admin, map[string]any{}), 400, "invalid_field")

	current := pending()
	if current["device_sn"] != "AC-2024-0666" || current["version"] != 2.0 {
		t.Fatalf("pending after the second submission %v", current)
	}
	p.Must(approve(current["version"]), 204)
	me := p.Must(p.Do("GET", "/portal/me", user, nil), 200)
	if me.Str("user", "status") != "registered" || me.Str("user", "device_sn") != "AC-2024-0666" {
		t.Fatalf("after approval %s", me.Raw)
	}
	p.MustError(p.Do("POST", "/admin/registrations/"+reviewed["id"].(string)+"/approve", p.admin, map[string]any{"version": 2}), 404, "not_found")
	p.MustError(p.Do("POST", "/portal/registration/device", user, map[string]any{"device_sn": "AC-2024-0777",
		"latitude": 31.2, "longitude": 121.4, "address": "1 Lujiazui Ring Road"}), 409, "already_registered")
}

// TestTheAdminListsTheTenantsInvitationCodes: the list pages through the
// tenant's codes (revoked ones marked), never another tenant's.
func TestTheAdminListsTheTenantsInvitationCodes(t *testing.T) {
	p := newPortal(t) // acme is open
	admin := p.admin
	other, _ := p.openTenant("globex")
	var codes []string
	for range 3 {
		codes = append(codes, p.invitation(admin, 2, 7))
	}
	p.invitation(other, 1, 7)
	gone := codes[1]
	p.Must(p.Do("DELETE", "/admin/invitations/"+gone, admin, nil), 204)
	slices.Sort(codes)
	first := p.Must(p.Do("GET", "/admin/invitations?limit=2", admin, nil), 200)
	second := p.Must(p.Do("GET", "/admin/invitations?limit=2&cursor="+first.Str("next_cursor"), admin, nil), 200)
	var got []string
	revoked := map[string]bool{}
	for _, page := range []testenv.Reply{first, second} {
		for _, raw := range page.Body["invitations"].([]any) {
			inv := raw.(map[string]any)
			got = append(got, inv["code"].(string))
			revoked[inv["code"].(string)] = inv["revoked"].(bool)
		}
	}
	if !slices.Equal(got, codes) || second.Str("next_cursor") != "" {
		t.Fatalf("listed %v (next %q), want %v", got, second.Str("next_cursor"), codes)
	}
	for _, c := range codes {
		if revoked[c] != (c == gone) {
			t.Errorf("code %s revoked=%v", c, revoked[c])
		}
	}
	p.MustError(p.Do("GET", "/admin/invitations?cursor=%21%21", admin, nil), 400, "invalid_field")
	p.MustError(p.Do("GET", "/admin/invitations?limit=500", admin, nil), 400, "invalid_field")
}
