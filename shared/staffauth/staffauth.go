// Package staffauth authenticates staff with bearer tokens issued by the
// CRM: HS256 JWTs naming the tenant and role. A tenant's admins and
// engineers carry their tenant's id; the platform's operators carry
// PlatformTenant, which no tenant's token may name.
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

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/tenant"
)

// Roles a staff token may carry. Admins and engineers act for their
// tenant; an operator acts for the platform across tenants and never for
// one of them.
const (
	RoleAdmin    = "admin"
	RoleEngineer = "engineer"
	RoleOperator = "operator"
)

// PlatformTenant is the tenant claim of an operator token: the platform
// itself. It is reserved: a token naming it with a tenant role, or an
// operator token naming a real tenant, is not valid, so neither kind of
// token can stand in for the other whatever route it is shown to.
const PlatformTenant = "platform"

// tenantRoles are the roles that act for a tenant; a route that names no
// role admits these and never an operator.
var tenantRoles = []string{RoleAdmin, RoleEngineer}

// consistentClaims says whether tenantID and role belong together: the
// platform with the operator role, a tenant with a tenant role.
func consistentClaims(tenantID, role string) bool {
	if role == RoleOperator {
		return tenantID == PlatformTenant
	}
	return slices.Contains(tenantRoles, role) && tenantID != PlatformTenant
}

// Issuer and audience of staff tokens.
const (
	Issuer   = "crm"
	Audience = "wxchannel-staff"
)

// MaxTTL bounds a token's lifetime; longer-lived tokens are refused.
const MaxTTL = 12 * time.Hour

// Claims identify a staff member. The tenant of every admin or engineer
// request comes from here, never from the request body; an operator's is
// PlatformTenant.
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
	if !tenant.ValidID(c.TenantID) || c.Subject == "" || !consistentClaims(c.TenantID, c.Role) {
		return "", errors.New("staff claims need a valid tenant, a subject and a known role (operators name the platform, others a tenant)")
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

// skew is how far the CRM's clock may run ahead of ours.
const skew = 30 * time.Second

// Verifier checks staff tokens: RS256/ES256 tokens against the CRM's
// public keys when they are configured (then our functions hold no key
// able to mint an admin token), else HS256 tokens against the shared key
// and its previous value.
type Verifier struct {
	secrets config.Secrets
	public  *PublicKeys
	now     func() time.Time
}

// NewVerifier returns a verifier for HS256 tokens signed with the admin
// signing key held in secrets.
func NewVerifier(secrets config.Secrets, now func() time.Time) *Verifier {
	return &Verifier{secrets: secrets, now: now}
}

// NewPublicKeyVerifier returns a verifier that accepts only tokens the CRM
// signed with one of keys (RS256 or ES256).
func NewPublicKeyVerifier(keys *PublicKeys, now func() time.Time) *Verifier {
	return &Verifier{public: keys, now: now}
}

// FromDeps builds a function's verifier: the CRM's public keys when the
// configuration names them, else the shared HS256 key.
func FromDeps(d *app.Deps) (*Verifier, error) {
	if d.Config.StaffTokenKeys == "" {
		return NewVerifier(d.Secrets, d.Now), nil
	}
	keys, err := ParsePublicKeys([]byte(d.Config.StaffTokenKeys))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvStaffTokenKeys, err)
	}
	return NewPublicKeyVerifier(keys, d.Now), nil
}

// parse checks the signature with every key that may have signed raw.
func (v *Verifier) parse(ctx context.Context, raw string) (jwtClaims, error) {
	opts := []jwt.ParserOption{jwt.WithStrictDecoding(), jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(v.now), jwt.WithLeeway(skew)}
	var c jwtClaims
	if v.public != nil {
		opts = append(opts, jwt.WithValidMethods([]string{"RS256", "ES256"}))
		_, err := jwt.ParseWithClaims(raw, &c, v.public.keyFunc, opts...)
		return c, err
	}
	opts = append(opts, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
	return config.Verify(ctx, config.KeySource{Secrets: v.secrets, Name: config.SecretAdminSigningKey},
		func(keys config.KeyRing) (jwtClaims, error) {
			var err error
			for _, key := range keys.All() {
				c = jwtClaims{}
				_, err = jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil }, opts...)
				if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
					break // anything but a signature of another key of the ring is final
				}
			}
			return c, err
		}, func(err error) bool { return errors.Is(err, jwt.ErrTokenSignatureInvalid) })
}

// Authenticate returns the claims of the request's bearer token if it is
// valid and carries one of roles (a tenant role, admin or engineer, when
// none are given: an operator is admitted only where named). Errors are
// *apperr.Error: Unauthenticated for a missing, malformed, forged or expired
// token or one whose lifetime exceeds MaxTTL however its dates are set,
// Forbidden for a role that may not call the route.
func (v *Verifier) Authenticate(r *http.Request, roles ...string) (Claims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "missing_token", "an Authorization: Bearer token is required")
	}
	c, err := v.parse(r.Context(), raw)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, apperr.E(apperr.Unauthenticated, "token_expired", "the token has expired; sign in again")
		}
		if errors.Is(err, config.ErrKeysUnavailable) {
			return Claims{}, err // not the caller's fault
		}
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_token", "the token is not valid")
	}
	if !v.withinLifetime(c) || !tenant.ValidID(c.Tenant) || c.Subject == "" || !consistentClaims(c.Tenant, c.Role) {
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_token", "the token is not valid")
	}
	if len(roles) == 0 {
		roles = tenantRoles
	}
	if !slices.Contains(roles, c.Role) {
		return Claims{}, apperr.E(apperr.Forbidden, "forbidden_role", "this action needs the role "+strings.Join(roles, " or "))
	}
	return Claims{TenantID: c.Tenant, Subject: c.Subject, Role: c.Role}, nil
}

// withinLifetime bounds a token by MaxTTL from both its issue time and our
// clock: a token dated in the future, or expiring more than MaxTTL from
// now, is refused whatever it claims.
func (v *Verifier) withinLifetime(c jwtClaims) bool {
	now := v.now()
	if c.IssuedAt == nil || c.ExpiresAt == nil || c.IssuedAt.After(now.Add(skew)) {
		return false
	}
	return c.ExpiresAt.Sub(c.IssuedAt.Time) <= MaxTTL && c.ExpiresAt.Sub(now) <= MaxTTL+skew
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

// Operator wraps h so that it runs only for a platform operator (whose
// claims name PlatformTenant).
func (v *Verifier) Operator(h StaffHandler) httpapi.HandlerFunc { return v.Require(h, RoleOperator) }
