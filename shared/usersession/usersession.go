// Package usersession issues and verifies terminal users' sessions: our own
// short-lived session tokens for the mini programs (never WeChat's
// session_key) and the refresh tokens that renew them.
package usersession

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
)

// Lifetimes of terminal-user tokens.
const (
	SessionTTL = 2 * time.Hour
	RefreshTTL = 30 * 24 * time.Hour
)

const (
	issuer      = "wxchannel"
	audSession  = "portal-session"
	audRefresh  = "portal-refresh"
	leewayClock = 30 * time.Second
)

// Claims identify a terminal user. The tenant of every portal request comes
// from here.
type Claims struct {
	TenantID string
	UserID   string
	// AppID is the mini program the user signed in with.
	AppID string
}

type tokenClaims struct {
	Tenant string `json:"tenant"`
	App    string `json:"app"`
	jwt.RegisteredClaims
}

// Sessions issues and verifies terminal-user tokens with the session
// signing key (read from the secrets on first use).
type Sessions struct {
	secrets config.Secrets
	now     func() time.Time
}

// New returns the session issuer/verifier signing with the session key
// held in secrets.
func New(secrets config.Secrets, now func() time.Time) *Sessions {
	return &Sessions{secrets: secrets, now: now}
}

func (s *Sessions) signingKey(ctx context.Context) ([]byte, error) {
	return config.SigningKey(ctx, s.secrets, config.SecretSessionSigningKey)
}

// Tokens are what a login or refresh returns to the mini program.
type Tokens struct {
	SessionToken string    `json:"session_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshToken string    `json:"refresh_token"`
}

// Issue signs a session and a refresh token for c.
func (s *Sessions) Issue(ctx context.Context, c Claims) (Tokens, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	sign := func(aud string, ttl time.Duration) (string, error) {
		return jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{Tenant: c.TenantID, App: c.AppID,
			RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: c.UserID, Audience: jwt.ClaimStrings{aud},
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}}).SignedString(key)
	}
	session, err := sign(audSession, SessionTTL)
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := sign(audRefresh, RefreshTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{SessionToken: session, ExpiresAt: now.Add(SessionTTL).UTC(), RefreshToken: refresh}, nil
}

func (s *Sessions) verify(ctx context.Context, raw, aud string) (Claims, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return Claims{}, err
	}
	var c tokenClaims
	_, err = jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithStrictDecoding(), jwt.WithIssuer(issuer), jwt.WithAudience(aud),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now), jwt.WithLeeway(leewayClock))
	if errors.Is(err, jwt.ErrTokenExpired) {
		return Claims{}, apperr.E(apperr.Unauthenticated, "session_expired", "the session expired; refresh it or log in again")
	}
	if err != nil || c.Tenant == "" || c.Subject == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_session", "the session token is not valid")
	}
	return Claims{TenantID: c.Tenant, UserID: c.Subject, AppID: c.App}, nil
}

// Authenticate returns the claims of the request's session token.
func (s *Sessions) Authenticate(r *http.Request) (Claims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "missing_session", "log in first: an Authorization: Bearer session token is required")
	}
	return s.verify(r.Context(), raw, audSession)
}

// Refresh exchanges a refresh token for new tokens.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Tokens, Claims, error) {
	c, err := s.verify(ctx, refreshToken, audRefresh)
	if err != nil {
		return Tokens{}, Claims{}, err
	}
	t, err := s.Issue(ctx, c)
	return t, c, err
}

// Handler is an endpoint that runs for an authenticated terminal user.
type Handler func(w http.ResponseWriter, r *http.Request, c Claims) error

// Require wraps h so that it runs only with a valid session token.
func (s *Sessions) Require(h Handler) httpapi.HandlerFunc {
	return httpapi.Authenticated(s.Authenticate, h)
}
