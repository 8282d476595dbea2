package tokens

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/attrcrypt"
	"wxchannel/shared/config"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// Timing of refreshes.
const (
	// RefreshWindow: a token is refreshed this long before it expires.
	RefreshWindow = 15 * time.Minute
	// leaseFor bounds how long one refresher may hold a token's lease: more
	// than a scheduled refresh may take from its take to its write
	// (refreshTimeout + storeTimeout), so a live holder is never overtaken;
	// one that died is, after it.
	leaseFor = 30 * time.Second
	// storeTimeout bounds the write of a token WeChat has minted, which
	// runs even when the refresh's own time is up.
	storeTimeout = 5 * time.Second
	// cacheFor bounds the in-process cache of a token read from DynamoDB.
	cacheFor = 60 * time.Second
)

// Errors callers branch on.
var (
	// ErrNoTicket says no usable verify ticket is stored (a push was
	// requested): nothing that needs the component token can work until
	// WeChat pushes one, so the caller should retry in a few minutes.
	ErrNoTicket = apperr.E(apperr.Unavailable, "verify_ticket_missing",
		"WeChat has not pushed a component_verify_ticket yet; check that the authorization event URL in WeChat's console "+
			"points at this deployment, then retry in a few minutes").After(time.Minute)
	// ErrNeedsReauth: the authorizer's refresh token is invalid; the tenant
	// admin must authorize the mini program again.
	ErrNeedsReauth = errors.New("authorizer must be authorized again")
	// ErrUnauthorized: the authorizer revoked the platform's access.
	ErrUnauthorized = errors.New("authorizer revoked the authorization")
)

// Config is what a Manager needs besides its store and the WeChat client.
type Config struct {
	// ComponentAppID is the platform's appid; PublicAppID the platform's
	// own public mini program.
	ComponentAppID, PublicAppID string
	// PublicAppSecret reads the public mini program's AppSecret when its
	// token is minted.
	PublicAppSecret wechat.SecretFunc
	Now             func() time.Time
	Log             *slog.Logger
}

// Manager keeps the component token and authorizer tokens durable and
// fresh. Safe for concurrent use; several Lambdas may run one each.
type Manager struct {
	store  *Store
	sealer *attrcrypt.Sealer
	wx     *wechat.Client
	cfg    Config
	owner  string
	limits runLimits

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	token string
	until time.Time
	// version is the stored version the token came from: a forced refresh
	// takes the lease on it without reading the item again.
	version int64
}

// NewManager returns a manager keeping its tokens in store, sealed by
// sealer, and minting them through wx.
func NewManager(store *Store, sealer *attrcrypt.Sealer, wx *wechat.Client, cfg Config) *Manager {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Manager{store: store, sealer: sealer, wx: wx, cfg: cfg, owner: hex.EncodeToString(b[:]),
		limits: defaultRunLimits, cache: map[string]cached{}}
}

// FromDeps builds a function's one Manager, and its one sealer, from the
// edge's dependencies.
func FromDeps(d *app.Deps) *Manager {
	return NewManager(NewStore(d.DB), sealerFromDeps(d), d.WeChat, Config{
		ComponentAppID: d.Config.ComponentAppID, PublicAppID: d.Config.PublicAppID, Now: d.Now, Log: d.Log,
		PublicAppSecret: func(ctx context.Context) (string, error) { return d.Secrets.Get(ctx, config.SecretPublicAppSecret) },
	})
}

// Store exposes the manager's store (tickets for the push handler).
func (m *Manager) Store() *Store { return m.store }

type source struct {
	m   *Manager
	key tokenKey
}

func (s source) Token(ctx context.Context) (string, error) { return s.m.token(ctx, s.key) }
func (s source) Refresh(ctx context.Context, stale string) (string, error) {
	return s.m.refresh(ctx, s.key, stale, true)
}

type tokenKey struct {
	kind  Kind
	appid string
}

func (k tokenKey) pk() string {
	switch k.kind {
	case KindComponent:
		return componentPK(k.appid)
	case KindPublic:
		return publicAppPK(k.appid)
	}
	return storage.AuthorizerPartition(k.appid)
}

// ComponentTokenSource is the component_access_token for WeChat calls.
func (m *Manager) ComponentTokenSource() wechat.TokenSource {
	return source{m: m, key: tokenKey{kind: KindComponent, appid: m.cfg.ComponentAppID}}
}

// PublicTokenSource is the access token of the platform's own public mini
// program (for its QR codes), minted with its AppSecret.
func (m *Manager) PublicTokenSource() wechat.TokenSource {
	return source{m: m, key: tokenKey{kind: KindPublic, appid: m.cfg.PublicAppID}}
}

// AuthorizerTokenSource is an authorizer's access token.
func (m *Manager) AuthorizerTokenSource(appid string) wechat.TokenSource {
	return source{m: m, key: tokenKey{kind: KindAuthorizer, appid: appid}}
}

func (m *Manager) token(ctx context.Context, k tokenKey) (string, error) {
	now := m.cfg.Now()
	m.mu.Lock()
	c, ok := m.cache[k.pk()]
	m.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.token, nil
	}
	it, err := m.readToken(ctx, k.pk())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("read %s token: %w", k.kind, err)
	}
	if err := statusErr(it); err != nil {
		return "", err
	}
	if it.valid(now) {
		m.remember(k, it)
		return it.AccessToken, nil
	}
	// Missing or expired (the schedule fell behind): refresh now.
	return m.refresh(ctx, k, "", false)
}

func statusErr(it tokenItem) error {
	switch it.Status {
	case StatusNeedsReauth:
		return fmt.Errorf("%s: %w (%s)", it.AppID, ErrNeedsReauth, it.Reason)
	case StatusUnauthorized:
		return fmt.Errorf("%s: %w", it.AppID, ErrUnauthorized)
	}
	return nil
}

func (m *Manager) remember(k tokenKey, it tokenItem) {
	until := m.cfg.Now().Add(cacheFor)
	if exp := time.Unix(it.ExpiresAt, 0).Add(-time.Minute); exp.Before(until) {
		until = exp
	}
	m.mu.Lock()
	m.cache[k.pk()] = cached{token: it.AccessToken, until: until, version: it.Version}
	m.mu.Unlock()
}

// forget drops k's cached token and returns what it was.
func (m *Manager) forget(k tokenKey) cached {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cache[k.pk()]
	delete(m.cache, k.pk())
	return c
}

// mint calls WeChat for a new token and returns the item to store; leaseID
// holds cur's lease. The new version is later than cur's even when the
// clock has not moved (a simulated one), so a take conditional on cur's
// version never passes again: by a microsecond at least, because the
// embedded DynamoDB server compares numbers as float64 (a nanosecond
// apart, two versions would look equal to it).
func (m *Manager) mint(ctx context.Context, k tokenKey, cur tokenItem, leaseID string) (tokenItem, error) {
	wx := m.wx
	now := m.cfg.Now()
	next := tokenItem{PK: k.pk(), SK: skToken, Kind: k.kind, AppID: k.appid, Status: StatusActive,
		Version: max(now.UnixNano(), cur.Version+int64(time.Microsecond)), RefreshedAt: now.Unix(), RefreshToken: cur.RefreshToken}
	switch k.kind {
	case KindComponent:
		ticket, _, err := m.store.Ticket(ctx, k.appid)
		if errors.Is(err, storage.ErrNotFound) {
			return tokenItem{}, m.requestTicket(ctx, wx, "no ticket stored")
		}
		if err != nil {
			return tokenItem{}, fmt.Errorf("read ticket: %w", err)
		}
		tok, err := wx.ComponentToken(ctx, ticket)
		if wechat.IsCode(err, wechat.CodeTicketExpired, wechat.CodeTicketInvalid) {
			return tokenItem{}, m.requestTicket(ctx, wx, err.Error())
		}
		if err != nil {
			return tokenItem{}, err
		}
		next.AccessToken, next.ExpiresAt = tok.AccessToken, now.Unix()+int64(tok.ExpiresIn)
	case KindPublic:
		secret, err := m.cfg.PublicAppSecret(ctx)
		if err != nil {
			return tokenItem{}, err
		}
		tok, err := wx.AppAccessToken(ctx, k.appid, secret)
		if err != nil {
			return tokenItem{}, err
		}
		next.AccessToken, next.ExpiresAt = tok.AccessToken, now.Unix()+int64(tok.ExpiresIn)
	default:
		tok, err := m.authorizerToken(ctx, wx, k.appid, cur, leaseID)
		if err != nil {
			return tokenItem{}, err
		}
		next.AccessToken, next.ExpiresAt, next.RefreshToken = tok.AccessToken, now.Unix()+int64(tok.ExpiresIn), tok.RefreshToken
	}
	due := time.Unix(next.ExpiresAt, 0).Add(-RefreshWindow)
	next.DuePK, next.DueSK = dueIndexPK, dueSK(due, k.kind, k.appid)
	return next, nil
}

func (m *Manager) requestTicket(ctx context.Context, wx *wechat.Client, why string) error {
	if err := wx.StartPushTicket(ctx); err != nil {
		return fmt.Errorf("%w (%s); start push failed: %w", ErrNoTicket, why, err)
	}
	m.cfg.Log.WarnContext(ctx, "asked WeChat to push a verify ticket", "reason", why)
	return fmt.Errorf("%w (%s)", ErrNoTicket, why)
}

// authorizerToken refreshes with the stored refresh token; on 61023 it tries
// to recover the current refresh token from the authorizer list before
// marking the authorizer as needing re-authorization. Marking it releases
// the lease (leaseID).
func (m *Manager) authorizerToken(ctx context.Context, wx *wechat.Client, appid string, cur tokenItem, leaseID string) (
	wechat.AuthorizerToken, error,
) {
	cat := m.ComponentTokenSource()
	tok, err := wx.AuthorizerToken(ctx, cat, appid, cur.RefreshToken)
	if wechat.IsCode(err, wechat.CodeRefreshTokenInvalid) {
		if recovered := m.recoverRefreshToken(ctx, wx, appid); recovered != "" && recovered != cur.RefreshToken {
			tok, err = wx.AuthorizerToken(ctx, cat, appid, recovered)
		}
	}
	switch {
	case wechat.IsCode(err, wechat.CodeRefreshTokenInvalid):
		const reason = "refresh token rejected by WeChat (61023)"
		if merr := m.store.markStatus(ctx, appid, StatusNeedsReauth, reason, leaseID, m.cfg.Now()); merr != nil {
			return tok, fmt.Errorf("%w; marking it failed: %w", err, merr)
		}
		return tok, fmt.Errorf("%s: %w: %w", appid, ErrNeedsReauth, err)
	case wechat.IsCode(err, wechat.CodeNotAuthorized):
		if merr := m.store.markStatus(ctx, appid, StatusUnauthorized, "authorization revoked (61003)", leaseID, m.cfg.Now()); merr != nil {
			return tok, fmt.Errorf("%w; marking it failed: %w", err, merr)
		}
		return tok, fmt.Errorf("%s: %w: %w", appid, ErrUnauthorized, err)
	}
	return tok, err
}

func (m *Manager) recoverRefreshToken(ctx context.Context, wx *wechat.Client, appid string) string {
	cat := m.ComponentTokenSource()
	for offset := 0; offset < 100000; offset += 500 {
		list, err := wx.AuthorizerList(ctx, cat, offset, 500)
		if err != nil {
			return ""
		}
		for _, a := range list.List {
			if a.AuthorizerAppID == appid {
				return a.RefreshToken
			}
		}
		if offset+500 >= list.TotalCount {
			return ""
		}
	}
	return ""
}

// AuthorizerTokensPut stores the tokens api_query_auth returned, sealed;
// add the put to the transaction that writes the binding so the refresh
// token and the binding are never written apart. A re-authorization
// replaces the previous refresh token, which WeChat has invalidated.
func (m *Manager) AuthorizerTokensPut(ctx context.Context, info wechat.AuthorizationInfo) (*dynamo.Put, error) {
	st, err := m.authorizerTokens(ctx, info)
	if err != nil {
		return nil, err
	}
	return m.store.tokenPut(st), nil
}

// authorizerTokens is the token item, sealed, of what api_query_auth returned.
func (m *Manager) authorizerTokens(ctx context.Context, info wechat.AuthorizationInfo) (storedToken, error) {
	now := m.cfg.Now()
	exp := now.Unix() + int64(info.ExpiresIn)
	return m.seal(ctx, tokenItem{
		PK: storage.AuthorizerPartition(info.AuthorizerAppID), SK: skToken, Kind: KindAuthorizer, AppID: info.AuthorizerAppID,
		AccessToken: info.AuthorizerAccessToken, ExpiresAt: exp, RefreshToken: info.AuthorizerRefreshToken,
		Status: StatusActive, Version: now.UnixNano(), RefreshedAt: now.Unix(),
		DuePK: dueIndexPK, DueSK: dueSK(time.Unix(exp, 0).Add(-RefreshWindow), KindAuthorizer, info.AuthorizerAppID),
	})
}

// AuthorizerStatus is what the admin API shows about an authorizer's tokens.
type AuthorizerStatus struct {
	Status      Status    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	NeedsReauth bool      `json:"needs_reauth"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// AuthorizerStatus reports an authorizer's token state; it reads the
// state only, and leaves the sealed tokens sealed.
func (m *Manager) AuthorizerStatus(ctx context.Context, appid string) (AuthorizerStatus, error) {
	it, err := m.store.getToken(ctx, storage.AuthorizerPartition(appid))
	if err != nil {
		return AuthorizerStatus{}, err
	}
	return AuthorizerStatus{Status: it.Status, Reason: it.Reason, NeedsReauth: it.Status == StatusNeedsReauth,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, nil
}

// MarkUnauthorized stops refreshing an authorizer's tokens (unbound or
// revoked); a later authorization stores fresh tokens.
func (m *Manager) MarkUnauthorized(ctx context.Context, appid, reason string) error {
	err := m.store.markStatus(ctx, appid, StatusUnauthorized, reason, "", m.cfg.Now())
	if errors.Is(err, storage.ErrConflict) {
		return nil // no token item: nothing to stop
	}
	m.forget(tokenKey{kind: KindAuthorizer, appid: appid})
	return err
}
