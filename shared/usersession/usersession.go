// Package usersession issues and verifies terminal users' sessions: our own
// short-lived session tokens for the mini programs (never WeChat's
// session_key), and the server-side chains of single-use refresh tokens
// that renew them.
package usersession

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/binding"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
)

// Lifetimes of terminal-user sessions.
const (
	// SessionTTL bounds one session token.
	SessionTTL = 2 * time.Hour
	// RefreshTTL is how long an unused refresh token stays usable.
	RefreshTTL = 30 * 24 * time.Hour
	// ChainTTL caps a chain of refreshes from one login: after it the user
	// logs in again, whatever they did meanwhile.
	ChainTTL = 90 * 24 * time.Hour
	// bindingCacheFor bounds how long an instance trusts what it read of a
	// mini program's binding: an unbind ends every session of it within
	// this long.
	bindingCacheFor = 60 * time.Second
)

const (
	issuer      = "wxchannel"
	audSession  = "portal-session"
	leewayClock = 30 * time.Second
)

// Claims identify a terminal user. The tenant of every portal request comes
// from here.
type Claims struct {
	TenantID string
	UserID   string
	// AppID is the mini program the user signed in with.
	AppID string
	// Generation is the binding of an enterprise mini program the session
	// was issued under (0 for the public mini program).
	Generation int64
}

type tokenClaims struct {
	Tenant     string `json:"tenant"`
	App        string `json:"app"`
	Generation int64  `json:"gen,omitempty"`
	jwt.RegisteredClaims
}

// BindingStates reads whether a mini program still serves a tenant
// (binding.Store).
type BindingStates interface {
	StateOf(ctx context.Context, appid string) (binding.State, error)
}

// Config is what Sessions need besides their table and the bindings.
type Config struct {
	// PublicAppID is the platform's own mini program: its sessions do not
	// depend on any tenant's binding.
	PublicAppID string
	// Keys is the session signing key (and the previous one).
	Keys config.KeySource
	Now  func() time.Time
}

// Sessions issues and verifies terminal-user sessions.
type Sessions struct {
	chains   dynamo.Table
	bindings BindingStates
	cfg      Config

	mu    sync.Mutex
	known map[string]knownState
}

type knownState struct {
	state binding.State
	until time.Time
}

// New returns the sessions whose refresh chains live in table.
func New(table dynamo.Table, bindings BindingStates, cfg Config) *Sessions {
	return &Sessions{chains: table, bindings: bindings, cfg: cfg, known: map[string]knownState{}}
}

// FromDeps builds a function's sessions at its edge.
func FromDeps(d *app.Deps) *Sessions {
	return New(d.DB.Service, binding.NewStore(d.DB), Config{PublicAppID: d.Config.PublicAppID, Now: d.Now,
		Keys: config.KeySource{Secrets: d.Secrets, Name: config.SecretSessionSigningKey}})
}

// Tokens are what a login or refresh returns to the mini program.
type Tokens struct {
	SessionToken string    `json:"session_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshToken string    `json:"refresh_token"`
}

// Start begins a chain for a user who just logged in and issues its first
// session and refresh token.
func (s *Sessions) Start(ctx context.Context, c Claims) (Tokens, error) {
	refresh, chain, err := s.newChain(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	return s.issue(ctx, c, refresh, chain)
}

func (s *Sessions) issue(ctx context.Context, c Claims, refresh, chainID string) (Tokens, error) {
	keys, err := s.cfg.Keys.Keys(ctx)
	if err != nil {
		return Tokens{}, err
	}
	now := s.cfg.Now()
	session, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{Tenant: c.TenantID, App: c.AppID, Generation: c.Generation,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, Subject: c.UserID, Audience: jwt.ClaimStrings{audSession}, ID: chainID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(SessionTTL))}}).SignedString(keys.Current)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{SessionToken: session, ExpiresAt: now.Add(SessionTTL).UTC(), RefreshToken: refresh}, nil
}

// Authenticate returns the claims of the request's session token. A
// session of an enterprise mini program ends when the mini program no
// longer serves the tenant under the binding the session was issued for.
func (s *Sessions) Authenticate(r *http.Request) (Claims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return Claims{}, apperr.E(apperr.Unauthenticated, "missing_session", "log in first: an Authorization: Bearer session token is required")
	}
	c, err := s.verify(r.Context(), raw)
	if err != nil {
		return Claims{}, err
	}
	if err := s.checkBinding(r.Context(), c, false); err != nil {
		return Claims{}, err
	}
	return c, nil
}

func (s *Sessions) verify(ctx context.Context, raw string) (Claims, error) {
	c, err := config.Verify(ctx, s.cfg.Keys, func(keys config.KeyRing) (tokenClaims, error) { return s.parse(raw, keys) },
		func(err error) bool { return errors.Is(err, jwt.ErrTokenSignatureInvalid) })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, apperr.E(apperr.Unauthenticated, "session_expired", "the session expired; refresh it or log in again")
	case errors.Is(err, config.ErrKeysUnavailable):
		return Claims{}, err
	case err != nil || c.Tenant == "" || c.Subject == "":
		return Claims{}, apperr.E(apperr.Unauthenticated, "invalid_session", "the session token is not valid")
	}
	return Claims{TenantID: c.Tenant, UserID: c.Subject, AppID: c.App, Generation: c.Generation}, nil
}

// parse checks raw with each key of the ring.
func (s *Sessions) parse(raw string, keys config.KeyRing) (tokenClaims, error) {
	var c tokenClaims
	var err error
	for _, key := range keys.All() {
		c = tokenClaims{}
		_, err = jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithStrictDecoding(), jwt.WithIssuer(issuer),
			jwt.WithAudience(audSession), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now), jwt.WithLeeway(leewayClock))
		if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			break // anything but a signature of another key of the ring is final
		}
	}
	return c, err
}

// checkBinding refuses a session of an enterprise mini program that no
// longer serves the session's tenant under the session's binding. fresh
// reads the binding now instead of trusting this instance's recent read.
func (s *Sessions) checkBinding(ctx context.Context, c Claims, fresh bool) error {
	if c.AppID == s.cfg.PublicAppID && c.Generation == 0 {
		return nil
	}
	st, err := s.bindingState(ctx, c.AppID, fresh)
	if err != nil {
		return err
	}
	if !st.Bound || st.TenantID != c.TenantID || st.Generation != c.Generation {
		return apperr.E(apperr.Unauthenticated, "mini_program_unbound",
			"this mini program no longer serves the enterprise; open it again to log in")
	}
	return nil
}

func (s *Sessions) bindingState(ctx context.Context, appid string, fresh bool) (binding.State, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	k, ok := s.known[appid]
	s.mu.Unlock()
	if ok && !fresh && now.Before(k.until) {
		return k.state, nil
	}
	st, err := s.bindings.StateOf(ctx, appid)
	if err != nil {
		return binding.State{}, err
	}
	s.mu.Lock()
	s.known[appid] = knownState{state: st, until: now.Add(bindingCacheFor)}
	s.mu.Unlock()
	return st, nil
}

// Refresh exchanges a refresh token for a new session and a new refresh
// token; the presented one is spent. Presenting a spent one revokes the
// whole chain (someone else holds a copy), and a chain ends after ChainTTL,
// after RefreshTTL unused, or when its mini program stops serving the
// tenant.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Tokens, Claims, error) {
	c, next, chainID, err := s.rotate(ctx, refreshToken)
	if err != nil {
		return Tokens{}, Claims{}, err
	}
	if err := s.checkBinding(ctx, c, true); err != nil {
		if rerr := s.revoke(ctx, chainID, "the mini program no longer serves the tenant"); rerr != nil {
			return Tokens{}, Claims{}, rerr
		}
		return Tokens{}, Claims{}, err
	}
	t, err := s.issue(ctx, c, next, chainID)
	return t, c, err
}

// Handler is an endpoint that runs for an authenticated terminal user.
type Handler func(w http.ResponseWriter, r *http.Request, c Claims) error

// Require wraps h so that it runs only with a valid session token.
func (s *Sessions) Require(h Handler) httpapi.HandlerFunc {
	return httpapi.Authenticated(s.Authenticate, h)
}
