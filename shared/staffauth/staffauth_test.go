package staffauth_test

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
)

const key = "0123456789abcdef0123456789abcdef-admin"

func verifier(now time.Time) *staffauth.Verifier {
	secrets := config.EnvSecrets{Getenv: func(k string) string {
		if k == config.SecretAdminSigningKey {
			return key
		}
		return ""
	}}
	return staffauth.NewVerifier(secrets, func() time.Time { return now })
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	admin, err := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "alice", Role: staffauth.RoleAdmin}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	engineer, _ := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "bob", Role: staffauth.RoleEngineer}, time.Hour, now)
	otherKey, _ := staffauth.Issue([]byte(strings.Repeat("x", 40)), staffauth.Claims{TenantID: "t1", Subject: "eve", Role: staffauth.RoleAdmin}, time.Hour, now)
	expired, _ := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "alice", Role: staffauth.RoleAdmin}, time.Minute, now.Add(-time.Hour))
	tooLong, _ := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "alice", Role: staffauth.RoleAdmin}, 48*time.Hour, now)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"tenant": "t1", "role": "admin", "sub": "x", "iss": staffauth.Issuer, "aud": staffauth.Audience, "exp": now.Add(time.Hour).Unix()})
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	cases := []struct {
		name       string
		header     string
		roles      []string
		wantStatus int
		wantCode   string
		wantTenant string
	}{
		{"admin token for admin route", "Bearer " + admin, []string{staffauth.RoleAdmin}, 200, "", "t1"},
		{"any role when none required", "Bearer " + engineer, nil, 200, "", "t1"},
		{"engineer on admin route", "Bearer " + engineer, []string{staffauth.RoleAdmin}, 403, "forbidden_role", ""},
		{"missing header", "", nil, 401, "missing_token", ""},
		{"basic auth scheme", "Basic abc", nil, 401, "missing_token", ""},
		{"garbage", "Bearer not.a.jwt", nil, 401, "invalid_token", ""},
		{"signed with another key", "Bearer " + otherKey, nil, 401, "invalid_token", ""},
		{"alg none", "Bearer " + noneToken, nil, 401, "invalid_token", ""},
		{"expired", "Bearer " + expired, nil, 401, "token_expired", ""},
		{"lifetime over the maximum", "Bearer " + tooLong, nil, 401, "invalid_token", ""},
		{"tampered payload", "Bearer " + tamper(admin), nil, 401, "invalid_token", ""},
	}
	v := verifier(now)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/admin/x", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			c, err := v.Authenticate(r, tc.roles...)
			if tc.wantStatus == 200 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if c.TenantID != tc.wantTenant {
					t.Fatalf("tenant %q, want %q", c.TenantID, tc.wantTenant)
				}
				return
			}
			he := httpapi.AsError(err)
			if httpapi.Status(he.Kind) != tc.wantStatus || he.Code != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", httpapi.Status(he.Kind), he.Code, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// tamper swaps the tenant in the payload while keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := jwt.NewParser().DecodeSegment(parts[1])
	forged := strings.Replace(string(payload), `"tenant":"t1"`, `"tenant":"t2"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	return strings.Join(parts, ".")
}

// TestOperatorAndTenantTokensNeverStandInForEachOther: an operator token
// names the platform and passes only routes that name the operator role;
// a tenant's token never passes them, and a token pairing the platform
// with a tenant role (or a tenant with the operator role) is no token at
// all, even when signed with our key.
func TestOperatorAndTenantTokensNeverStandInForEachOther(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	operatorClaims := staffauth.Claims{TenantID: staffauth.PlatformTenant, Subject: "olga", Role: staffauth.RoleOperator}
	operator, err := staffauth.Issue([]byte(key), operatorClaims, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "alice", Role: staffauth.RoleAdmin}, time.Hour, now)
	// Hand-signed with our key: what a CRM bug or a confused issuer could make.
	handSigned := func(tenantID, role string) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant": tenantID, "sub": "mallory", "role": role,
			"iss": staffauth.Issuer, "aud": staffauth.Audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name     string
		token    string
		roles    []string
		wantCode string // "" when accepted
	}{
		{"operator on an operator route", operator, []string{staffauth.RoleOperator}, ""},
		{"operator on an admin route", operator, []string{staffauth.RoleAdmin}, "forbidden_role"},
		{"operator on an engineer route", operator, []string{staffauth.RoleEngineer}, "forbidden_role"},
		{"operator where no role is named", operator, nil, "forbidden_role"},
		{"admin on an operator route", admin, []string{staffauth.RoleOperator}, "forbidden_role"},
		{"admin role naming the platform", handSigned(staffauth.PlatformTenant, staffauth.RoleAdmin), nil, "invalid_token"},
		{"admin role naming the platform on an admin route", handSigned(staffauth.PlatformTenant, staffauth.RoleAdmin),
			[]string{staffauth.RoleAdmin}, "invalid_token"},
		{"operator role naming a tenant", handSigned("t1", staffauth.RoleOperator), []string{staffauth.RoleOperator}, "invalid_token"},
		{"unknown role", handSigned("t1", "superuser"), nil, "invalid_token"},
	}
	v := verifier(now)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/platform/versions", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			c, err := v.Authenticate(r, tc.roles...)
			if tc.wantCode == "" {
				if err != nil || c != operatorClaims {
					t.Fatalf("got %+v, %v; want %+v", c, err, operatorClaims)
				}
				return
			}
			if code := httpapi.AsError(err).Code; code != tc.wantCode {
				t.Fatalf("got %q (%v), want %s", code, err, tc.wantCode)
			}
		})
	}
	for _, c := range []staffauth.Claims{
		{TenantID: "t1", Subject: "x", Role: staffauth.RoleOperator},
		{TenantID: staffauth.PlatformTenant, Subject: "x", Role: staffauth.RoleAdmin},
		{TenantID: staffauth.PlatformTenant, Subject: "x", Role: staffauth.RoleEngineer},
	} {
		if _, err := staffauth.Issue([]byte(key), c, time.Hour, now); err == nil {
			t.Errorf("Issue(%+v) signed a token", c)
		}
	}
}
