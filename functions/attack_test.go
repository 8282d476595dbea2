package functions_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/golang-jwt/jwt/v5"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/config"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wxcrypt"
)

// attack is one hostile request and what it must get: the status, the
// error code of the envelope, and no write to storage.
type attack struct {
	name   string
	req    func() attackReq
	status int
	code   string
}

type attackReq struct {
	method, path, token string
	body                any    // JSON, or
	raw                 []byte // a raw body with contentType
	contentType         string
	headers             map[string]string
}

// TestAttacks runs the table of attacks through the Lambda adapter with
// every function mounted. Each must be refused with the expected status and
// error code, and must not write anything.
func TestAttacks(t *testing.T) {
	w := newFaultWorld(t, nil)
	env := w.Env
	now := env.Clock.Now()
	globexAdmin, globexEngineer := w.staffToken("globex", staffauth.RoleAdmin), w.staffToken("globex", staffauth.RoleEngineer)

	// Two customers of acme; A has an order. An invitation and a pending
	// registration exist.
	userA, userB := w.login("openid-a"), w.login("openid-b")
	orderA := w.must("POST", "/portal/work-orders", userA, faultOrder("AC-ATK-1"), nil, 201)["work_order"].(map[string]any)["id"].(string)
	inv := w.must("POST", "/admin/invitations", w.admin, map[string]any{"customer_id": "CUST-1", "max_uses": 1, "expires_in_days": 7}, nil, 201)["code"].(string)
	// Registration requests are pending until approved.
	w.must("PUT", "/admin/portal/settings", w.admin, map[string]any{"guest_access": true, "serial_registration": true, "invitation_codes": true, "max_checkin_distance_m": 500}, nil, 200)
	w.must("POST", "/portal/registration/device", userB, map[string]any{"device_sn": "AC-ATK-9", "latitude": 31.2, "longitude": 121.4, "address": "1 Test Road"}, nil, 202)
	regs := w.must("GET", "/admin/registrations", w.admin, nil, nil, 200)["pending"].([]any)
	regID, reviewed := regs[0].(map[string]any)["id"].(string), regs[0].(map[string]any)["version"]
	// The user submits the registration again after the admin reviewed it.
	w.must("POST", "/portal/registration/device", userB, map[string]any{"device_sn": "AC-ATK-8", "latitude": 31.2, "longitude": 121.4, "address": "2 Test Road"}, nil, 202)
	current := w.must("GET", "/admin/registrations", w.admin, nil, nil, 200)["pending"].([]any)[0].(map[string]any)["version"]

	// Pushes.
	good, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	otherKey, _ := wxcrypt.New(testenv.ComponentToken, "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj", testenv.ComponentAppID, "")
	otherApp, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, "wxffffffffffffffff", "")
	ticket := func(appid string, at time.Time) []byte {
		return []byte(fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@attack]]></ComponentVerifyTicket></xml>", appid, at.Unix()))
	}
	n := 0
	push := func(c *wxcrypt.Crypter, inner []byte, at time.Time, edit func(q url.Values)) func() attackReq {
		return func() attackReq {
			n++
			q, body, err := c.Seal(inner, strconv.FormatInt(at.Unix(), 10), "atk"+strconv.Itoa(n), "AppId", testenv.ComponentAppID)
			if err != nil {
				t.Fatal(err)
			}
			if edit != nil {
				edit(q)
			}
			return attackReq{method: "POST", path: "/wechat/component/events?" + q.Encode(), raw: body, contentType: "text/xml"}
		}
	}

	// Staff tokens.
	adminKey := []byte(w.Vars[config.SecretAdminSigningKey])
	expiredAdmin, _ := staffauth.Issue(adminKey, staffauth.Claims{TenantID: "acme", Subject: "a", Role: staffauth.RoleAdmin}, time.Minute, now.Add(-time.Hour))
	otherKeyAdmin, _ := staffauth.Issue([]byte(strings.Repeat("k", 40)), staffauth.Claims{TenantID: "acme", Subject: "a", Role: staffauth.RoleAdmin}, time.Hour, now)
	noneAdmin, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"tenant": "acme", "sub": "a", "role": "admin", "iss": staffauth.Issuer,
		"aud": staffauth.Audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tampered := swapClaim(t, w.admin, `"tenant":"acme"`, `"tenant":"globex"`)
	staffClaims := func(iat, exp time.Time) jwt.MapClaims {
		m := jwt.MapClaims{"tenant": "acme", "sub": "a", "role": "admin", "iss": staffauth.Issuer, "aud": staffauth.Audience, "exp": exp.Unix()}
		if !iat.IsZero() {
			m["iat"] = iat.Unix()
		}
		return m
	}
	tenYearAdmin, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, staffClaims(now.AddDate(10, 0, 0).Add(-time.Hour), now.AddDate(10, 0, 0))).
		SignedString(adminKey)
	undatedAdmin, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, staffClaims(time.Time{}, now.Add(time.Hour))).SignedString(adminKey)

	// Terminal-user tokens.
	sessionKey := []byte(w.Vars[config.SecretSessionSigningKey])
	userToken := func(key []byte, aud string, iat time.Time, ttl time.Duration) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant": "acme", "app": testenv.PublicAppID, "iss": "wxchannel",
			"sub": "x", "aud": aud, "iat": iat.Unix(), "exp": iat.Add(ttl).Unix()}).SignedString(key)
		return s
	}
	loginA := w.must("POST", "/portal/login", "", map[string]any{"code": env.Sim.IssueJSCode(testenv.PublicAppID, "openid-a", ""), "scene": w.scene}, nil, 200)
	refreshA := loginA["refresh_token"].(string)

	// Authorization states.
	pcURL, _ := url.Parse(w.StartAuthorization(w.admin).PCURL)
	redirect, _ := url.Parse(pcURL.Query().Get("redirect_uri"))
	state := redirect.Query().Get("state")

	injection := []string{"' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "${jndi:ldap://x.example/a}", strings.Repeat("\u202e漢", 30)}

	attacks := []attack{
		{"push with a forged URL signature", push(good, ticket(testenv.ComponentAppID, now), now, func(q url.Values) { q.Set("signature", strings.Repeat("0", 40)) }), 401, "invalid_signature"},
		{"push with a forged msg_signature", push(good, ticket(testenv.ComponentAppID, now), now, func(q url.Values) { q.Set("msg_signature", strings.Repeat("0", 40)) }), 401, "invalid_signature"},
		{"push without signatures", push(good, ticket(testenv.ComponentAppID, now), now, func(q url.Values) { q.Del("signature"); q.Del("msg_signature") }), 401, "unsigned_push"},
		{"push sealed with another EncodingAESKey", push(otherKey, ticket(testenv.ComponentAppID, now), now, nil), 400, "malformed_push"},
		{"push for another platform's appid", push(otherApp, ticket("wxffffffffffffffff", now), now, nil), 403, "wrong_appid"},
		{"push replayed ten minutes later", push(good, ticket(testenv.ComponentAppID, now.Add(-10*time.Minute)), now.Add(-10*time.Minute), nil), 401, "stale_push"},
		{"push from the future", push(good, ticket(testenv.ComponentAppID, now.Add(10*time.Minute)), now.Add(10*time.Minute), nil), 401, "stale_push"},
		{"oversized push", fixed(attackReq{method: "POST", path: "/wechat/component/events?signature=a&timestamp=1&nonce=1&msg_signature=b", raw: make([]byte, 70<<10), contentType: "text/xml"}), 413, "body_too_large"},
		{"audit push to an appid nobody bound", func() attackReq {
			r := push(good, []byte("<xml><ToUserName>gh_nobody</ToUserName><CreateTime>"+strconv.FormatInt(now.Unix(), 10)+"</CreateTime><MsgType>event</MsgType><Event>weapp_audit_success</Event></xml>"), now, nil)()
			r.path = strings.Replace(r.path, "/wechat/component/events", "/wechat/events/wxffffffffffffffff", 1)
			return r
		}, 403, "unknown_mini_program"},

		{"oversized JSON body", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, raw: []byte(`{"description":"` + strings.Repeat("x", 40<<10) + `"}`), contentType: "application/json"}), 413, "body_too_large"},
		{"form body instead of JSON", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, raw: []byte("category=repair"), contentType: "application/x-www-form-urlencoded"}), 415, "unsupported_media_type"},
		{"unknown JSON field", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, body: map[string]any{"category": "repair", "tenant_id": "globex"}}), 400, "unknown_field"},
		{"two JSON documents", fixed(attackReq{method: "POST", path: "/portal/login", raw: []byte(`{"code":"a"}{"code":"b"}`), contentType: "application/json"}), 400, "malformed_json"},

		{"callback with a forged state", fixed(attackReq{method: "GET", path: "/wechat/auth/callback?auth_code=x&state=eyJ0IjoiYWNtZSJ9.AAAA"}), 400, "invalid_state"},
		{"callback with a tampered state", fixed(attackReq{method: "GET", path: "/wechat/auth/callback?auth_code=x&state=" + url.QueryEscape(tamperState(state))}), 400, "invalid_state"},
		{"callback with a re-spelled state", fixed(attackReq{method: "GET", path: "/wechat/auth/callback?auth_code=x&state=" + url.QueryEscape(testenv.Respell(state))}), 400, "invalid_state"},
		{"callback with a line break inside the state", fixed(attackReq{method: "GET", path: "/wechat/auth/callback?auth_code=x&state=" + url.QueryEscape(state[:20]+"\r\n"+state[20:])}), 400, "invalid_state"},
		{"callback without a code", fixed(attackReq{method: "GET", path: "/wechat/auth/callback?state=" + url.QueryEscape(state)}), 400, "missing_parameters"},

		{"admin route without a token", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding"}), 401, "missing_token"},
		{"expired staff token", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: expiredAdmin}), 401, "token_expired"},
		{"staff token signed with another key", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: otherKeyAdmin}), 401, "invalid_token"},
		{"staff token with alg none", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: noneAdmin}), 401, "invalid_token"},
		{"staff token with its signature re-spelled", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: testenv.Respell(w.admin)}), 401, "invalid_token"},
		{"terminal session with its signature re-spelled", fixed(attackReq{method: "GET", path: "/portal/me", token: testenv.Respell(userA)}), 401, "invalid_session"},
		{"staff token with its tenant changed", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: tampered}), 401, "invalid_token"},
		{"staff token valid ten years, issued in the future", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: tenYearAdmin}),
			401, "invalid_token"},
		{"staff token without an issue time", fixed(attackReq{method: "GET", path: "/admin/miniprogram/binding", token: undatedAdmin}), 401, "invalid_token"},
		{"refresh token that is not ours", fixed(attackReq{method: "POST", path: "/portal/session/refresh",
			body: map[string]any{"refresh_token": "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}), 401, "invalid_refresh_token"},
		{"engineer on an admin route", fixed(attackReq{method: "POST", path: "/admin/invitations", token: w.engineer, body: map[string]any{"customer_id": "C", "max_uses": 1, "expires_in_days": 1}}), 403, "forbidden_role"},
		{"terminal session on an admin route", fixed(attackReq{method: "GET", path: "/admin/registrations", token: userA}), 401, "invalid_token"},

		{"expired terminal session", fixed(attackReq{method: "GET", path: "/portal/me", token: userToken(sessionKey, "portal-session", now.Add(-3*time.Hour), time.Hour)}), 401, "session_expired"},
		{"terminal session from another key", fixed(attackReq{method: "GET", path: "/portal/me", token: userToken([]byte("another-key-0123456789"), "portal-session", now, time.Hour)}), 401, "invalid_session"},
		{"refresh token used as a session", fixed(attackReq{method: "GET", path: "/portal/me", token: refreshA}), 401, "invalid_session"},
		{"staff token used as a session", fixed(attackReq{method: "GET", path: "/portal/me", token: w.admin}), 401, "invalid_session"},
		{"session used as a refresh token", fixed(attackReq{method: "POST", path: "/portal/session/refresh", body: map[string]any{"refresh_token": userA}}), 401, "invalid_refresh_token"},

		{"another tenant's engineer accepts an order", fixed(attackReq{method: "POST", path: "/engineer/work-orders/" + orderA + "/accept", token: globexEngineer}), 404, "not_found"},
		{"another customer reads an order", fixed(attackReq{method: "GET", path: "/portal/work-orders/" + orderA, token: userB}), 404, "not_found"},
		{"another customer cancels an order", fixed(attackReq{method: "POST", path: "/portal/work-orders/" + orderA + "/cancel", token: userB}), 404, "not_found"},
		{"another tenant's admin approves a registration", fixed(attackReq{method: "POST", path: "/admin/registrations/" + regID + "/approve", token: globexAdmin, body: map[string]any{"version": current}}), 404, "not_found"},
		{"approval of a registration submitted again since it was reviewed", fixed(attackReq{method: "POST", path: "/admin/registrations/" + regID + "/approve", token: w.admin, body: map[string]any{"version": reviewed}}), 409, "registration_changed"},
		{"approval without the version reviewed", fixed(attackReq{method: "POST", path: "/admin/registrations/" + regID + "/approve", token: w.admin, body: map[string]any{}}), 400, "invalid_field"},
		{"another tenant's admin revokes an invitation", fixed(attackReq{method: "DELETE", path: "/admin/invitations/" + inv, token: globexAdmin}), 404, "not_found"},
		{"forged QR scene at login", fixed(attackReq{method: "POST", path: "/portal/login", body: map[string]any{"code": "c", "scene": "aaaaaaaaaa.bbbbbbbbbbb"}}), 400, "invalid_field"},
		{"scene with its MAC cut", fixed(attackReq{method: "POST", path: "/portal/login", body: map[string]any{"code": "c", "scene": w.scene[:len(w.scene)-3]}}), 400, "invalid_field"},
		{"photo key outside the user's prefix", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, body: withPhotos(faultOrder("AC-ATK-2"), "uploads/globex/someone/abcdefgh.jpg")}), 400, "invalid_field"},
		{"photo key with a path traversal", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, body: withPhotos(faultOrder("AC-ATK-3"), "uploads/acme/../../etc/passwd.jpg")}), 400, "invalid_field"},
		{"malformed order id in the path", fixed(attackReq{method: "GET", path: "/portal/work-orders/..%2F..%2Fadmin", token: userA}), 404, "route_not_found"},
	}
	for _, s := range injection {
		body := faultOrder(s)
		attacks = append(attacks, attack{"injection-looking serial " + strconv.Quote(truncate(s)), fixed(attackReq{method: "POST", path: "/portal/work-orders", token: userA, body: body}), 400, "invalid_field"})
		attacks = append(attacks, attack{"injection-looking invitation code " + strconv.Quote(truncate(s)), fixed(attackReq{method: "POST", path: "/portal/registration/invitation", token: userB, body: map[string]any{"code": s}}), 400, "invalid_field"})
	}

	attacks = append(attacks, freeTextAttacks(userA, w.admin, w.engineer, orderA)...)

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			r := a.req()
			var hdr map[string]string
			if r.raw != nil {
				hdr = map[string]string{"Content-Type": r.contentType}
				maps.Copy(hdr, r.headers)
			}
			before := w.snapshot()
			var status int
			var out map[string]any
			var raw string
			if r.raw != nil {
				status, out, raw = w.doRaw(r.method, r.path, r.token, r.raw, hdr)
			} else {
				status, out, raw = w.do(r.method, r.path, r.token, r.body, r.headers)
			}
			e, _ := out["error"].(map[string]any)
			if status != a.status || e == nil || e["code"] != a.code || e["message"] == "" {
				t.Fatalf("%d %s, want %d with code %s", status, raw, a.status, a.code)
			}
			if after := w.snapshot(); after != before {
				t.Fatalf("a refused request changed the stored items")
			}
		})
	}

	// The state is single-use: the first callback consumes it (WeChat's
	// code is refused here, so nothing is bound), a replay is a conflict.
	w.do("GET", "/wechat/auth/callback?auth_code=queryauthcode%40%40%40nope&state="+url.QueryEscape(state), "", nil, nil)
	if status, _, raw := w.do("GET", "/wechat/auth/callback?auth_code=queryauthcode%40%40%40nope&state="+url.QueryEscape(state), "", nil, nil); status != 409 || !strings.Contains(raw, `"state_used"`) {
		t.Fatalf("replayed state: %d %s", status, raw)
	}

	// A replayed push is answered "success" (WeChat must stop) and changes
	// nothing: no second effect.
	replay := push(good, ticket(testenv.ComponentAppID, now), now, nil)()
	hdr := map[string]string{"Content-Type": "text/xml"}
	if status, _, raw := w.doRaw("POST", replay.path, "", replay.raw, hdr); status != 200 || raw != "success" {
		t.Fatalf("first push: %d %s", status, raw)
	}
	env.Calls.Reset()
	if status, _, raw := w.doRaw("POST", replay.path, "", replay.raw, hdr); status != 200 || raw != "success" {
		t.Fatalf("replayed push: %d %s", status, raw)
	}
	if c := env.Calls.Calls(); c["PutItem"]+c["UpdateItem"]+c["DeleteItem"] != 0 {
		t.Fatalf("a replayed push wrote outside its guarded transaction: %v", c)
	}

	// Markup in free text is stored and returned as typed, as JSON that a
	// browser must not sniff as HTML (the console escapes it when shown).
	body := faultOrder("AC-ATK-4")
	body["description"] = `<img src=x onerror=alert(1)> "quoted" ' OR 1=1 --`
	created := w.must("POST", "/portal/work-orders", userA, body, nil, 201)
	id := created["work_order"].(map[string]any)["id"].(string)
	req, _ := http.NewRequest("GET", w.Base+"/portal/work-orders/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+userA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got["description"] != body["description"] || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("description %q with headers %v", got["description"], resp.Header)
	}
}

// freeTextAttacks put characters that are not seen (controls, direction
// overrides, zero-width characters) into every free-text field: each is
// refused, naming the field, before anything is stored.
func freeTextAttacks(user, admin, engineer, orderID string) []attack {
	invisible := []struct{ name, text string }{
		{"NUL", "The pump\x00 is broken"},
		{"an ANSI escape", "\x1b[2J\x1b[31mThe pump is broken"},
		{"a bell", "The pump is broken\a\a"},
		{"a C1 control", "The pump \u009b31m is broken"},
		{"right-to-left overrides", strings.Repeat("\u202e漢", 30)},
		{"a left-to-right embedding", "\u202aThe pump is broken"},
		{"a first strong isolate", "The pump \u2068is\u2069 broken"},
		{"a zero-width space", "The pump\u200b is broken"},
		{"a zero-width joiner", "The pump\u200d is broken"},
		{"a word joiner", "The pump\u2060 is broken"},
		{"a byte order mark", "\ufeffThe pump is broken"},
	}
	var out []attack
	for _, c := range invisible {
		out = append(out, attack{c.name + " in a work-order description",
			fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, body: withField(faultOrder("AC-ATK-5"), "description", c.text)}), 400, "invalid_field"})
	}
	const bidi = "Li \u202eieL"
	settings := func(field string) map[string]any {
		return map[string]any{"guest_access": true, "serial_registration": true, "invitation_codes": true, "max_checkin_distance_m": 500, "version": 1, field: bidi}
	}
	return append(out,
		attack{"a direction override in a contact name", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, body: withField(faultOrder("AC-ATK-5"), "contact_name", bidi)}), 400, "invalid_field"},
		attack{"a line break in a contact name", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, body: withField(faultOrder("AC-ATK-5"), "contact_name", "Li\nLei")}), 400, "invalid_field"},
		attack{"a direction override in a work-order address", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, body: withField(faultOrder("AC-ATK-5"), "address", "88 Century "+bidi)}), 400, "invalid_field"},
		attack{"a direction override in a rating comment", fixed(attackReq{method: "POST", path: "/portal/work-orders/" + orderID + "/rating", token: user, body: map[string]any{"stars": 5, "comment": bidi}}), 400, "invalid_field"},
		attack{"a direction override in an engineer's note", fixed(attackReq{method: "POST", path: "/engineer/work-orders/" + orderID + "/status", token: engineer, body: map[string]any{"status": "en_route", "note": bidi}}), 400, "invalid_field"},
		attack{"a direction override in a registration address", fixed(attackReq{method: "POST", path: "/portal/registration/device", token: user, body: map[string]any{"device_sn": "AC-ATK-7", "latitude": 31.2, "longitude": 121.4, "address": "1 Test " + bidi}}), 400, "invalid_field"},
		attack{"a direction override in the tenant's display name", fixed(attackReq{method: "PUT", path: "/admin/portal/settings", token: admin, body: settings("display_name")}), 400, "invalid_settings"},
		attack{"a direction override in the location permission reason", fixed(attackReq{method: "PUT", path: "/admin/portal/settings", token: admin, body: settings("location_reason")}), 400, "invalid_settings"},
		attack{"an escaped lone surrogate in a description", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, contentType: "application/json",
			raw: []byte(`{"category":"repair","description":"The pump \ud800 is broken","contact_name":"Li","phone":"13800138000","address":"1 Test Road","latitude":31.2,"longitude":121.4}`)}), 400, "invalid_field"},
		attack{"invalid UTF-8 in a JSON body", fixed(attackReq{method: "POST", path: "/portal/work-orders", token: user, contentType: "application/json",
			raw: []byte("{\"category\":\"repair\",\"description\":\"The pump \xff is broken\",\"contact_name\":\"Li\",\"phone\":\"13800138000\",\"address\":\"1 Test Road\",\"latitude\":31.2,\"longitude\":121.4}")}), 400, "malformed_json"},
	)
}

// fixed is an attack whose request is known before the table runs.
func fixed(r attackReq) func() attackReq { return func() attackReq { return r } }

func withField(body map[string]any, field string, value any) map[string]any {
	body[field] = value
	return body
}

func withPhotos(body map[string]any, photos ...string) map[string]any {
	body["photos"] = photos
	return body
}

func truncate(s string) string {
	if r := []rune(s); len(r) > 12 {
		return string(r[:12]) + "…"
	}
	return s
}

// swapClaim replaces text in a JWT's payload and keeps its signature.
func swapClaim(t *testing.T, tok, from, to string) string {
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !strings.Contains(string(payload), from) {
		t.Fatalf("token payload %s lacks %s", payload, from)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), from, to, 1)))
	return strings.Join(parts, ".")
}

// tamperState changes the state's payload and keeps its MAC.
func tamperState(state string) string {
	payload, mac, _ := strings.Cut(state, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"acme"`, `"globex"`, 1))) + "." + mac
}

// snapshot is every stored item of both tables, canonically encoded (a
// test-only scan): equal snapshots mean nothing was written.
func (w *faultWorld) snapshot() string {
	w.T.Helper()
	var lines []string
	for _, table := range []dynamo.Table{w.DB.Platform, w.DB.Service} {
		var items []dynamo.Item
		if err := table.Scan().Consistent(true).All(context.Background(), &items); err != nil {
			w.T.Fatal(err)
		}
		for _, it := range items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				w.T.Fatal(err)
			}
			b, _ := json.Marshal(m) // map keys are sorted
			lines = append(lines, string(b))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// doRaw sends a raw body.
func (w *faultWorld) doRaw(method, path, token string, body []byte, headers map[string]string) (int, map[string]any, string) {
	w.T.Helper()
	r := w.Send(apiclient.Request{Method: method, Path: path, Token: token, Raw: body, Headers: headers})
	return r.Status, r.Body, r.Raw
}
