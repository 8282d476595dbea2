package attrcrypt

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"wxchannel/shared/config"
)

// localKeys are the keys held in the secrets: the current one seals (when
// no KMS key is configured) and both open. They are read and parsed once,
// on first use; a failed read is retried on the next.
type localKeys struct {
	secrets config.Secrets
	// names are the secrets of the current and the previous key.
	names [2]string

	mu     sync.Mutex
	loaded bool
	first  *dataKey // the current key; nil when none is configured
	keys   map[string]cipher.AEAD
}

// LocalKeyID is the id a sealed value names for a local key: 16 hex
// digits of the key's SHA-256, so an operator can tell which key sealed a
// value without the value disclosing the key.
func LocalKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return localIDKind + hex.EncodeToString(sum[:8])
}

func (l *localKeys) load(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded {
		return nil
	}
	byID := map[string]cipher.AEAD{}
	var first *dataKey
	for i, name := range l.names {
		if name == "" || l.secrets == nil {
			continue
		}
		raw, ok, err := l.secrets.Lookup(ctx, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if !ok {
			continue
		}
		k, err := parseLocalKey(raw)
		if err != nil {
			// The error names the secret, never its value.
			return fmt.Errorf("%w: %s %w", ErrNotConfigured, name, err)
		}
		byID[k.id] = k.aead
		if i == 0 {
			first = &k
		}
	}
	l.first, l.keys, l.loaded = first, byID, true
	return nil
}

func parseLocalKey(raw string) (dataKey, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
	if err != nil || len(key) != dataKeyBytes {
		return dataKey{}, fmt.Errorf("must be the base64 of %d random bytes", dataKeyBytes)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return dataKey{}, err
	}
	return dataKey{id: LocalKeyID(key), aead: aead}, nil
}

// current is the key new values are sealed with (nil when none is set).
func (l *localKeys) current(ctx context.Context) (*dataKey, error) {
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	return l.first, nil
}

// byID is the local key a sealed value names.
func (l *localKeys) byID(ctx context.Context, keyID string) (cipher.AEAD, error) {
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if aead, ok := l.keys[keyID]; ok {
		return aead, nil
	}
	if len(l.keys) == 0 {
		return nil, fmt.Errorf("%w: no local key (%s) to open a value sealed under %s", ErrNotConfigured, l.names[0], keyID)
	}
	return nil, fmt.Errorf("%w: local key %s is neither %s nor %s", ErrUnknownKey, keyID, l.names[0], l.names[1])
}
