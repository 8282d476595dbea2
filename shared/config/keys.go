package config

import (
	"context"
	"errors"
	"fmt"
)

// PreviousSuffix names a secret's previous value, kept during a rotation
// so what was signed or encrypted with it stays valid: SESSION_SIGNING_KEY
// has SESSION_SIGNING_KEY_PREVIOUS.
const PreviousSuffix = "_PREVIOUS"

// KeyRing is a signing key and the one it replaced. New values are signed
// with Current; values signed with either verify.
type KeyRing struct {
	Current  []byte
	Previous []byte
}

// All lists the keys a signature may verify with, newest first.
func (k KeyRing) All() [][]byte {
	if len(k.Previous) == 0 {
		return [][]byte{k.Current}
	}
	return [][]byte{k.Current, k.Previous}
}

// SigningKeys reads the HMAC key held in secret name and, when set, its
// previous value; each must be at least MinSigningKeyBytes long.
func SigningKeys(ctx context.Context, s Secrets, name string) (KeyRing, error) {
	current, err := SigningKey(ctx, s, name)
	if err != nil {
		return KeyRing{}, err
	}
	prev, ok, err := s.Lookup(ctx, name+PreviousSuffix)
	if err != nil {
		return KeyRing{}, fmt.Errorf("signing key %s: %w", name+PreviousSuffix, err)
	}
	ring := KeyRing{Current: current}
	if ok {
		if len(prev) < MinSigningKeyBytes {
			return KeyRing{}, fmt.Errorf("signing key %s must be at least %d bytes", name+PreviousSuffix, MinSigningKeyBytes)
		}
		ring.Previous = []byte(prev)
	}
	if other := sharedWith(ctx, s, name, ring); other != "" {
		return KeyRing{}, fmt.Errorf("%w: %s and %s", ErrSharedSigningKey, name, other)
	}
	return ring, nil
}

// ErrSharedSigningKey says two purposes were given the same signing key,
// so a leak of one would let its holder forge the other's tokens.
var ErrSharedSigningKey = errors.New("two purposes share one signing key; give each its own")

// sharedWith names another purpose's key (or previous key) equal to one of
// ring's, among the keys this function can read ("" when none).
func sharedWith(ctx context.Context, s Secrets, name string, ring KeyRing) string {
	for _, other := range SigningKeyNames {
		if other == name {
			continue
		}
		for _, n := range []string{other, other + PreviousSuffix} {
			v, ok, err := s.Lookup(ctx, n)
			if err == nil && ok && (v == string(ring.Current) || v == string(ring.Previous)) {
				return n
			}
		}
	}
	return ""
}

// CheckSigningKeys refuses signing keys shared between purposes, among the
// ones s holds: the dev server and functions configured from their
// environment run it before serving.
func CheckSigningKeys(ctx context.Context, s Secrets) error {
	for _, name := range SigningKeyNames {
		if _, ok, err := s.Lookup(ctx, name); err != nil || !ok {
			continue
		}
		if _, err := SigningKeys(ctx, s, name); errors.Is(err, ErrSharedSigningKey) {
			return err
		}
	}
	return nil
}

// KeySource is one purpose's signing key ring in the secrets.
type KeySource struct {
	Secrets Secrets
	Name    string
}

// Keys reads the ring.
func (k KeySource) Keys(ctx context.Context) (KeyRing, error) {
	return SigningKeys(ctx, k.Secrets, k.Name)
}

// ErrKeysUnavailable marks a failure to read the keys, which is not the
// fault of what was being verified.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// Verify runs verify with the ring. When verify reports a signature that
// matched no key of the ring (mismatch), the secrets are read again once,
// since the key may have been rotated after this instance read it, and
// verify runs again with the ring read now. A failure to read the keys
// wraps ErrKeysUnavailable.
func Verify[T any](ctx context.Context, k KeySource, verify func(KeyRing) (T, error), mismatch func(error) bool) (T, error) {
	var zero T
	ring, err := k.Keys(ctx)
	if err != nil {
		return zero, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	v, err := verify(ring)
	if err == nil || !mismatch(err) {
		return v, err
	}
	changed, rerr := k.Secrets.Refresh(ctx, k.Name)
	if rerr != nil || !changed {
		return v, err
	}
	if ring, rerr = k.Keys(ctx); rerr != nil {
		return zero, fmt.Errorf("%w: %w", ErrKeysUnavailable, rerr)
	}
	return verify(ring)
}
