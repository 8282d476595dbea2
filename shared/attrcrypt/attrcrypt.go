// Package attrcrypt seals attribute values in the application before they
// are written to DynamoDB, and opens them after they are read, so that
// neither table access nor a backup discloses them. A value is sealed with
// AES-256-GCM under a data key that comes from AWS KMS (envelope
// encryption) or, locally, from a key held in the secrets. Each sealed
// value names the key that sealed it, so keys rotate without rewriting
// what is stored, and is bound to its item and attribute, so a value
// copied to another item or attribute does not open.
package attrcrypt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"wxchannel/shared/config"
)

// Format of a sealed value:
//
//	v1.<key id>.<base64url(nonce || ciphertext || tag)>
//
// The key id is "local:" and 16 hex digits of the local key's SHA-256, or
// "kms:" and the base64url of the KMS-encrypted data key. Neither the key
// id nor base64url contains a dot.
const (
	// Version is the format of the values Seal returns.
	Version      = "v1"
	prefix       = Version + "."
	nonceSize    = 12
	tagSize      = 16
	localIDKind  = "local:"
	kmsIDKind    = "kms:"
	dataKeyBytes = 32
)

// DefaultDataKeyLifetime is how long one KMS data key seals new values
// before the next seal asks KMS for a fresh one.
const DefaultDataKeyLifetime = 24 * time.Hour

// Errors callers branch on. None of them carries key material or a value.
var (
	// ErrNotConfigured: no usable key to seal with (neither a KMS key nor
	// a local key is configured, or a local key is not 32 bytes of
	// base64), or none to open a value of that kind.
	ErrNotConfigured = errors.New("attribute encryption is not configured")
	// ErrCannotOpen: the value does not open under its key: it was altered,
	// or moved from another item or attribute.
	ErrCannotOpen = errors.New("sealed value does not open")
	// ErrUnknownKey: the value names a local key this deployment does not hold.
	ErrUnknownKey = errors.New("sealed under a key that is not configured")
	// ErrMalformed: the value has the sealed prefix but not the format.
	ErrMalformed = errors.New("malformed sealed value")
	// ErrUnsupportedVersion: the value is sealed in a format this code does not know.
	ErrUnsupportedVersion = errors.New("sealed value of an unknown format version")
)

// Binding names what a sealed value belongs to: the item (its key) and
// the attribute. It is the additional authenticated data of the seal.
type Binding struct {
	Item      string
	Attribute string
}

// aad encodes the format, the key id and the binding, each part length
// prefixed so that no two bindings encode alike.
func (b Binding) aad(keyID string) []byte {
	out := []byte(prefix)
	for _, part := range []string{keyID, b.Item, b.Attribute} {
		out = binary.AppendUvarint(out, uint64(len(part)))
		out = append(out, part...)
	}
	return out
}

// Options say where a Sealer's keys come from. Building a Sealer reads no
// secret and calls nothing: keys are fetched on first use.
type Options struct {
	// KMSKeyID (key id, ARN or alias) seals new values with data keys of
	// this KMS key. Empty: new values are sealed with the local key.
	KMSKeyID string
	// Region and KMSEndpoint locate KMS. KMSEndpoint overrides the
	// endpoint for a local stand-in; it is empty in AWS.
	Region, KMSEndpoint string
	// Secrets hold the local keys: KeySecret names the current one,
	// PreviousKeySecret (optional) the one it replaced, which still opens.
	// Each is the base64 of 32 bytes.
	Secrets                      config.Secrets
	KeySecret, PreviousKeySecret string
	// DataKeyLifetime bounds how long one KMS data key seals new values
	// (DefaultDataKeyLifetime when zero).
	DataKeyLifetime time.Duration
	// Now is the clock of that lifetime.
	Now func() time.Time
	// KMSClientOptions are applied to the KMS client after ours
	// (test-only settings).
	KMSClientOptions []func(*kms.Options)
}

// Sealer seals and opens attribute values. Safe for concurrent use; a
// function instance builds one and shares it.
type Sealer struct {
	kms   *kmsKeys
	local *localKeys
}

// dataKey is an AEAD and the id stored beside what it seals.
type dataKey struct {
	id   string
	aead cipher.AEAD
}

// New returns a sealer over the keys o describes.
func New(o Options) *Sealer {
	if o.DataKeyLifetime <= 0 {
		o.DataKeyLifetime = DefaultDataKeyLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sealer{kms: newKMSKeys(o), local: &localKeys{secrets: o.Secrets, names: [2]string{o.KeySecret, o.PreviousKeySecret}}}
}

// Seal returns plaintext sealed for b. An empty value stays empty, so an
// absent attribute stays absent.
func (s *Sealer) Seal(ctx context.Context, plaintext string, b Binding) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	k, err := s.sealingKey(ctx)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", b.Attribute, err)
	}
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: nonce: %w", b.Attribute, err)
	}
	sealed := k.aead.Seal(nonce, nonce, []byte(plaintext), b.aad(k.id))
	return prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Ready makes sure a key to seal with is at hand, asking KMS for a data
// key if the instance holds none, so that a caller can fail before an
// irreversible step (WeChat minting a token) rather than after it.
func (s *Sealer) Ready(ctx context.Context) error {
	if _, err := s.sealingKey(ctx); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}

// Open returns the plaintext of a value Seal returned for the same b. A
// value that is not sealed (written before encryption was introduced) is
// returned as it is; the next write seals it.
func (s *Sealer) Open(ctx context.Context, value string, b Binding) (string, error) {
	keyID, sealed, err := parse(value)
	if err != nil {
		return "", fmt.Errorf("open %s of %s: %w", b.Attribute, b.Item, err)
	}
	if sealed == nil {
		return value, nil
	}
	aead, err := s.openingKey(ctx, keyID)
	if err != nil {
		return "", fmt.Errorf("open %s of %s: %w", b.Attribute, b.Item, err)
	}
	plaintext, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], b.aad(keyID))
	if err != nil {
		// The cause (GCM's authentication failure) says nothing more.
		return "", fmt.Errorf("open %s of %s: %w", b.Attribute, b.Item, ErrCannotOpen)
	}
	return string(plaintext), nil
}

// IsSealed reports whether value has the sealed format's prefix.
func IsSealed(value string) bool { return strings.HasPrefix(value, prefix) }

// KeyID returns the id of the key a sealed value names.
func KeyID(value string) (string, bool) {
	keyID, sealed, err := parse(value)
	return keyID, err == nil && sealed != nil
}

// parse splits a sealed value into its key id and nonce||ciphertext; a
// value without the prefix is plaintext (nil, no error).
func parse(value string) (string, []byte, error) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		if versioned(value) {
			return "", nil, ErrUnsupportedVersion
		}
		return "", nil, nil
	}
	keyID, payload, ok := strings.Cut(rest, ".")
	if !ok || keyID == "" || strings.Contains(payload, ".") {
		return "", nil, ErrMalformed
	}
	sealed, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || len(sealed) < nonceSize+tagSize {
		return "", nil, ErrMalformed
	}
	return keyID, sealed, nil
}

// versioned reports a "v<digits>." prefix: a sealed format, not plaintext.
// WeChat's tokens never start that way.
func versioned(value string) bool {
	rest, ok := strings.CutPrefix(value, "v")
	if !ok {
		return false
	}
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	return digits > 0 && strings.HasPrefix(rest[digits:], ".")
}

// sealingKey is the KMS data key when a KMS key is configured, else the
// current local key.
func (s *Sealer) sealingKey(ctx context.Context) (dataKey, error) {
	if s.kms.keyID != "" {
		return s.kms.sealing(ctx)
	}
	k, err := s.local.current(ctx)
	if err != nil {
		return dataKey{}, err
	}
	if k == nil {
		return dataKey{}, fmt.Errorf("%w: set a KMS key id or the %s secret", ErrNotConfigured, s.local.names[0])
	}
	return *k, nil
}

// openingKey finds the key a value names, by the kind of its id.
func (s *Sealer) openingKey(ctx context.Context, keyID string) (cipher.AEAD, error) {
	switch {
	case strings.HasPrefix(keyID, kmsIDKind):
		return s.kms.opening(ctx, keyID)
	case strings.HasPrefix(keyID, localIDKind):
		return s.local.byID(ctx, keyID)
	}
	return nil, ErrMalformed
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != dataKeyBytes {
		return nil, fmt.Errorf("a data key must be %d bytes, got %d", dataKeyBytes, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// FromConfig is the product's sealer of stored credentials (WeChat tokens,
// webhook secrets): data keys of the KMS key TOKEN_KMS_KEY_ID names (AWS),
// else the TOKEN_ENCRYPTION_KEY secret (local runs). Building it reads no
// secret and calls nothing.
func FromConfig(cfg config.Config, secrets config.Secrets, now func() time.Time) *Sealer {
	return New(Options{
		KMSKeyID: cfg.TokenKMSKeyID, Region: cfg.Region, KMSEndpoint: cfg.KMSEndpoint,
		Secrets: secrets, KeySecret: config.SecretTokenEncryptionKey, PreviousKeySecret: config.SecretPreviousTokenEncryptionKey,
		Now: now,
	})
}
