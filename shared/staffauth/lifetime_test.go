package staffauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
)

func claims(now time.Time, iat, exp time.Duration) jwt.MapClaims {
	m := jwt.MapClaims{"tenant": "t1", "role": staffauth.RoleAdmin, "sub": "alice", "iss": staffauth.Issuer,
		"aud": staffauth.Audience, "exp": now.Add(exp).Unix()}
	if iat != 0 {
		m["iat"] = now.Add(iat).Unix()
	}
	return m
}

func authenticate(v *staffauth.Verifier, token string) (int, string) {
	r := httptest.NewRequest("GET", "/admin/x", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	_, err := v.Authenticate(r)
	if err == nil {
		return 200, ""
	}
	he := httpapi.AsError(err)
	return httpapi.Status(he.Kind), he.Code
}

// TestStaffTokenLifetimeCannotBeStretched: a token may not live longer
// than MaxTTL however its dates are set: ten years with iat in the future,
// no iat at all, or an expiry more than MaxTTL away are all refused.
func TestStaffTokenLifetimeCannotBeStretched(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	v := verifier(now)
	sign := func(m jwt.MapClaims) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(key))
		return s
	}
	tenYears := 10 * 365 * 24 * time.Hour
	for _, tc := range []struct {
		name     string
		token    string
		status   int
		wantCode string
	}{
		{"ten years, issued ten years from now", sign(claims(now, tenYears-time.Hour, tenYears)), 401, "invalid_token"},
		{"no issue time", sign(claims(now, 0, time.Hour)), 401, "invalid_token"},
		{"issued just now, expires in two days", sign(claims(now, -time.Minute, 48*time.Hour)), 401, "invalid_token"},
		{"issued in a minute (clock skew)", sign(claims(now, 20*time.Second, time.Hour)), 200, ""},
		{"twelve hours", sign(claims(now, -time.Minute, 12*time.Hour-time.Minute)), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := authenticate(v, tc.token); status != tc.status || code != tc.wantCode {
				t.Fatalf("got %d %s, want %d %s", status, code, tc.status, tc.wantCode)
			}
		})
	}
}

// TestStaffTokensSignedWithThePreviousKeyStillVerify: during a rotation the
// CRM may still sign with the previous key for a while.
func TestStaffTokensSignedWithThePreviousKeyStillVerify(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	previous := "the-previous-admin-signing-key-0123456789"
	secrets := config.EnvSecrets{Getenv: func(k string) string {
		switch k {
		case config.SecretAdminSigningKey:
			return key
		case config.SecretAdminSigningKey + config.PreviousSuffix:
			return previous
		}
		return ""
	}}
	v := staffauth.NewVerifier(secrets, func() time.Time { return now })
	for _, k := range []string{key, previous} {
		tok, err := staffauth.Issue([]byte(k), staffauth.Claims{TenantID: "t1", Subject: "a", Role: staffauth.RoleAdmin}, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		if status, code := authenticate(v, tok); status != 200 {
			t.Fatalf("a token signed with a key of the ring: %d %s", status, code)
		}
	}
}

// TestCRMPublicKeysVerifyAndSharedKeysNoLongerDo: with the CRM's public
// keys configured (a JWKS document or a PEM key), RS256 and ES256 tokens
// verify by kid, and an HS256 token, even signed with the old shared key,
// is refused: our functions hold nothing that mints an admin token.
func TestCRMPublicKeysVerifyAndSharedKeysNoLongerDo(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "crm-rsa-1", "n": b64(rsaKey.N), "e": b64(big.NewInt(int64(rsaKey.E)))},
		{"kty": "EC", "kid": "crm-ec-1", "crv": "P-256", "x": b64(ecKey.X), "y": b64(ecKey.Y)},
	}})
	keys, err := staffauth.ParsePublicKeys(doc)
	if err != nil {
		t.Fatal(err)
	}
	v := staffauth.NewPublicKeyVerifier(keys, func() time.Time { return now })
	signed := func(method jwt.SigningMethod, kid string, k any) string {
		tok := jwt.NewWithClaims(method, claims(now, -time.Minute, time.Hour))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs, _ := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: "t1", Subject: "a", Role: staffauth.RoleAdmin}, time.Hour, now)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"RS256 by kid", signed(jwt.SigningMethodRS256, "crm-rsa-1", rsaKey), 200},
		{"ES256 by kid", signed(jwt.SigningMethodES256, "crm-ec-1", ecKey), 200},
		{"HS256 with the shared key", hs, 401},
		{"RS256 with an unknown key", signed(jwt.SigningMethodRS256, "crm-rsa-1", otherRSA), 401},
		{"RS256 naming the EC key", signed(jwt.SigningMethodRS256, "crm-ec-1", rsaKey), 401},
		{"unknown kid", signed(jwt.SigningMethodRS256, "crm-rsa-9", rsaKey), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := authenticate(v, tc.token); status != tc.status {
				t.Fatalf("got %d %s, want %d", status, code, tc.status)
			}
		})
	}
	// One PEM public key, tokens without a kid.
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemKeys, err := staffauth.ParsePublicKeys(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	noKid, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(now, -time.Minute, time.Hour)).SignedString(rsaKey)
	if status, code := authenticate(staffauth.NewPublicKeyVerifier(pemKeys, func() time.Time { return now }), noKid); status != 200 {
		t.Fatalf("PEM key: %d %s", status, code)
	}
}
