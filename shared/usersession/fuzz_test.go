package usersession_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/usersession"
)

// FuzzSessionToken: a terminal user's session is accepted only when we
// signed it (same tenant, user and mini program); everything else — other
// keys, alg none, expired, refresh tokens, mutations — is a 401.
func FuzzSessionToken(f *testing.F) {
	env := testenv.New(f)
	s := usersession.FromDeps(env.Deps)
	ctx := context.Background()
	want := usersession.Claims{TenantID: "acme", UserID: "user-1", AppID: testenv.PublicAppID}
	tok, err := s.Start(ctx, want)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.SessionToken)
	f.Add(tok.RefreshToken)
	f.Add(tok.SessionToken[:len(tok.SessionToken)-2])
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant": "acme", "sub": "user-1", "iss": "wxchannel-portal",
		"aud": "session", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("another key"))
	f.Add(other)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"tenant": "acme", "sub": "user-1"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	f.Add(none)
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/portal/me", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		c, err := s.Authenticate(r)
		if err != nil {
			var he *apperr.Error
			if !errors.As(err, &he) || httpapi.Status(he.Kind) != 401 {
				t.Fatalf("Authenticate(%q) = %v, want a 401", raw, err)
			}
			return
		}
		if c != want {
			t.Fatalf("Authenticate(%q) accepted %+v", raw, c)
		}
	})
}
