package usersession

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
)

// A refresh token is "<chain id>.<secret>": the chain id names the chain's
// item, the secret is random and only its hash is stored, so the table
// holds nothing that refreshes a session.
var refreshPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$`)

var b64 = base64.RawURLEncoding

// chainItem is one login's chain of refresh tokens.
type chainItem struct {
	PK         string `dynamo:"pk,hash"`
	SK         string `dynamo:"sk,range"`
	TenantID   string `dynamo:"tenant_id"`
	UserID     string `dynamo:"user_id"`
	AppID      string `dynamo:"appid"`
	Generation int64  `dynamo:"generation"`
	// Current is the hash of the one refresh token that may be used next.
	Current   string `dynamo:"current"`
	CreatedAt int64  `dynamo:"created_at"`
	// IdleUntil ends a chain nobody refreshed for RefreshTTL; EndsAt ends
	// every chain ChainTTL after its login.
	IdleUntil     int64  `dynamo:"idle_until"`
	EndsAt        int64  `dynamo:"ends_at"`
	Rotations     int    `dynamo:"rotations"`
	Revoked       bool   `dynamo:"revoked"`
	RevokedReason string `dynamo:"revoked_reason,omitempty"`
	TTL           int64  `dynamo:"ttl"`
}

func chainPK(id string) string { return "session#" + id }

const chainSK = "chain"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// newChain stores a chain for c and returns its first refresh token.
func (s *Sessions) newChain(ctx context.Context, c Claims) (token, chainID string, err error) {
	now := s.cfg.Now()
	chainID, secret := random(16), random(32)
	item := chainItem{PK: chainPK(chainID), SK: chainSK, TenantID: c.TenantID, UserID: c.UserID, AppID: c.AppID, Generation: c.Generation,
		Current: hashSecret(secret), CreatedAt: now.Unix(), IdleUntil: now.Add(RefreshTTL).Unix(), EndsAt: now.Add(ChainTTL).Unix(),
		TTL: now.Add(ChainTTL + 24*time.Hour).Unix()}
	if err := s.chains.Put(item).If("attribute_not_exists('pk')").Run(ctx); err != nil {
		return "", "", fmt.Errorf("start session chain: %w", err)
	}
	return chainID + "." + secret, chainID, nil
}

// rotate spends the presented refresh token and stores the next one's
// hash in one conditional update; it returns the chain's claims and the
// next token.
func (s *Sessions) rotate(ctx context.Context, token string) (c Claims, next, chainID string, err error) {
	if !refreshPattern.MatchString(token) {
		return Claims{}, "", "", errInvalidRefresh
	}
	chainID, secret, _ := strings.Cut(token, ".")
	presented := hashSecret(secret)
	now := s.cfg.Now()
	nextSecret := random(32)
	var chain chainItem
	err = s.chains.Update("pk", chainPK(chainID)).Range("sk", chainSK).
		Set("current", hashSecret(nextSecret)).Set("idle_until", now.Add(RefreshTTL).Unix()).Add("rotations", 1).
		If("'current' = ? AND 'revoked' = ? AND 'ends_at' > ? AND 'idle_until' > ?", presented, false, now.Unix(), now.Unix()).
		Value(ctx, &chain)
	if dynamo.IsCondCheckFailed(err) {
		return Claims{}, "", "", s.refused(ctx, chainID, presented)
	}
	if err != nil {
		return Claims{}, "", "", fmt.Errorf("rotate refresh token: %w", err)
	}
	c = Claims{TenantID: chain.TenantID, UserID: chain.UserID, AppID: chain.AppID, Generation: chain.Generation}
	return c, chainID + "." + nextSecret, chainID, nil
}

var errInvalidRefresh = apperr.E(apperr.Unauthenticated, "invalid_refresh_token", "the refresh token is not valid; log in again")

// refused explains why a refresh token was not accepted. A token of the
// chain that is not its current one was spent before: someone else
// refreshed with a copy, so the whole chain is revoked.
func (s *Sessions) refused(ctx context.Context, chainID, presented string) error {
	var chain chainItem
	err := s.chains.Get("pk", chainPK(chainID)).Range("sk", dynamo.Equal, chainSK).Consistent(true).One(ctx, &chain)
	switch {
	case storage.IsNotFound(err):
		return errInvalidRefresh
	case err != nil:
		return fmt.Errorf("read session chain: %w", err)
	case chain.Revoked:
		return apperr.E(apperr.Unauthenticated, "session_revoked", "the session was ended; log in again")
	case subtle.ConstantTimeCompare([]byte(chain.Current), []byte(presented)) != 1:
		if err := s.revoke(ctx, chainID, "a spent refresh token was presented again"); err != nil {
			return err
		}
		return apperr.E(apperr.Unauthenticated, "refresh_token_reused",
			"this refresh token was already used; the session is ended for safety; log in again")
	}
	return apperr.E(apperr.Unauthenticated, "session_expired", "the session is too old; log in again")
}

// revoke ends a chain; later refreshes of it are refused.
func (s *Sessions) revoke(ctx context.Context, chainID, reason string) error {
	err := s.chains.Update("pk", chainPK(chainID)).Range("sk", chainSK).Set("revoked", true).Set("revoked_reason", reason).
		If("attribute_exists('pk')").Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("revoke session chain: %w", err)
	}
	return nil
}
