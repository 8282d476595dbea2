package staffauth_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
)

// FuzzStaffToken: a CRM staff token is accepted only as we would issue it
// with our key (same tenant, subject and role, within its lifetime); any
// other string is a 401, and the role check is a 403 — never a panic.
func FuzzStaffToken(f *testing.F) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	v := verifier(now)
	want := staffauth.Claims{TenantID: "t1", Subject: "alice", Role: staffauth.RoleAdmin}
	good, err := staffauth.Issue([]byte(key), want, time.Hour, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good + "x")
	f.Add(strings.Replace(good, ".", "..", 1))
	forged, _ := staffauth.Issue([]byte(strings.Repeat("y", 40)), want, time.Hour, now)
	f.Add(forged)
	expired, _ := staffauth.Issue([]byte(key), want, time.Minute, now.Add(-time.Hour))
	f.Add(expired)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"tenant": "t1", "sub": "alice", "role": "admin", "iss": staffauth.Issuer,
		"aud": staffauth.Audience, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	f.Add(none)
	long, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant": "t1", "sub": "alice", "role": "admin", "iss": staffauth.Issuer,
		"aud": staffauth.Audience, "exp": now.Add(24 * 365 * time.Hour).Unix(), "iat": now.Unix()}).SignedString([]byte(key))
	f.Add(long)
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/admin/miniprogram/binding", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		c, err := v.Authenticate(r, staffauth.RoleAdmin)
		if err != nil {
			var he *apperr.Error
			if !errors.As(err, &he) || (httpapi.Status(he.Kind) != 401 && httpapi.Status(he.Kind) != 403) {
				t.Fatalf("Authenticate(%q) = %v, want a 401 or 403", raw, err)
			}
			return
		}
		if c != want {
			t.Fatalf("Authenticate(%q) accepted %+v", raw, c)
		}
	})
}
