package config

import (
	"context"
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
	return ring, nil
}
