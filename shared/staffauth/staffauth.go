// Package staffauth authenticates tenant staff (admins and engineers) with
// bearer tokens issued by the CRM: HS256 JWTs naming the tenant and role.
package staffauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/tenant"
)

// Roles a staff token may carry.
const (
	RoleAdmin    = "admin"
	RoleEngineer = "engineer"
)

// Issuer and audience of staff tokens.
const (
	Issuer   = "crm"
	Audience = "wxchannel-staff"
)

// MaxTTL bounds a token's lifetime; longer-lived tokens are refused.
const MaxTTL = 12 * time.Hour

// Claims identify a staff member. The tenant of every admin or engineer
// request comes from here, never from the request body.
type Claims struct {
	TenantID string
	Subject  string
	Role     string
}

type jwtClaims struct {
	Tenant string `json:"tenant"`
	Role   string `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs a token for c, valid for ttl from now (dev server and tests;
// in production the CRM issues them with the same key).
func Issue(key []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(key) < config.MinSigningKeyBytes {
		return "", fmt.Errorf("staff signing key must be at least %d bytes", config.MinSigningKeyBytes)
	}
	if !tenant.ValidID(c.TenantID) || c.Subject == "" || (c.Role != RoleAdmin && c.Role != RoleEngineer) {
		return "", errors.New("staff claims need a valid tenant, a subject and a known role")
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		Tenant: c.TenantID, Role: c.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Audience: jwt.ClaimStrings{Audience}, Subject: c.Subject,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	return tok.SignedString(key)
}

// Verifier checks staff tokens. The key is read from the secrets on first use.
type Verifier struct {
	secrets config.Secrets
	now     func() time.Time
}

// NewVerifier returns a verifier for the admin signing key held in secrets.
func NewVerifier(secrets config.Secrets, now func() time.Time) *Verifier {
	return &Verifier{secrets: secrets, now: now}
}

func (v *Verifier) signingKey(ctx context.Context) ([]byte, error) {
	return config.SigningKey(ctx, v.secrets, config.SecretAdminSigningKey)
}

// Authenticate returns the claims of the request's bearer token if it is
// valid and carries one of roles (any role when none are given). Errors are
// *apperr.Error: Unauthenticated for a missing, malformed, forged or expired token, 403
// for a role that may not call the route.
func (v *Verifier) Authenticate(r *http.Request, roles ...string) (Claims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "missing_token", "an Authorization: Bearer token is required")
	}
	key, err := v.signingKey(r.Context())
	if err != nil {
		return Claims{}, err
	}
	var c jwtClaims
	_, err = jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithStrictDecoding(),
		jwt.WithIssuer(Issuer), jwt.WithAudience(Audience), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now), jwt.WithLeeway(30*time.Second))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, apperr.E(apperr.Unauthenticated, "token_expired", "the token has expired; sign in again")
		}
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_token", "the token is not valid")
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTTL || !tenant.ValidID(c.Tenant) || c.Subject == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_token", "the token is not valid")
	}
	if len(roles) > 0 && !slices.Contains(roles, c.Role) {
		return Claims{}, apperr.E(apperr.Forbidden, "forbidden_role", "this action needs the role "+strings.Join(roles, " or "))
	}
	return Claims{TenantID: c.Tenant, Subject: c.Subject, Role: c.Role}, nil
}

// StaffHandler is an endpoint that runs for an authenticated staff member.
type StaffHandler func(w http.ResponseWriter, r *http.Request, c Claims) error

// Require wraps h so that it runs only for a valid token with one of roles.
func (v *Verifier) Require(h StaffHandler, roles ...string) httpapi.HandlerFunc {
	return httpapi.Authenticated(func(r *http.Request) (Claims, error) { return v.Authenticate(r, roles...) }, h)
}

// Admin wraps h so that it runs only for a tenant admin.
func (v *Verifier) Admin(h StaffHandler) httpapi.HandlerFunc { return v.Require(h, RoleAdmin) }

// Engineer wraps h so that it runs only for an engineer.
func (v *Verifier) Engineer(h StaffHandler) httpapi.HandlerFunc { return v.Require(h, RoleEngineer) }
