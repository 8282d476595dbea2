package config

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Secret names. Locally each is an environment variable of the same name; in
// AWS they are the keys of one JSON secret in Secrets Manager (SECRETS_ARN).
const (
	SecretComponentSecret        = "COMPONENT_SECRET"
	SecretComponentToken         = "COMPONENT_TOKEN"
	SecretEncodingAESKey         = "COMPONENT_ENCODING_AES_KEY"
	SecretPreviousEncodingAESKey = "COMPONENT_ENCODING_AES_KEY_PREVIOUS"
	SecretPublicAppSecret        = "PUBLIC_APP_SECRET"
	SecretSessionSigningKey      = "SESSION_SIGNING_KEY"
	SecretAdminSigningKey        = "ADMIN_SIGNING_KEY"
	SecretStateSigningKey        = "STATE_SIGNING_KEY"
	// SecretSceneSigningKey signs the QR scenes printed on devices; it is
	// not the session key, so rotating that never voids a printed code.
	SecretSceneSigningKey = "SCENE_SIGNING_KEY"
)

// Local keys of the stored WeChat tokens' encryption, each the base64 of 32
// random bytes, used when TOKEN_KMS_KEY_ID is not set; the previous key
// still opens what it sealed during a rotation (see docs/tokens.md).
const (
	SecretTokenEncryptionKey         = "TOKEN_ENCRYPTION_KEY"
	SecretPreviousTokenEncryptionKey = "TOKEN_ENCRYPTION_KEY_PREVIOUS"
)

// SecretNames lists every secret, for documentation and checks.
var SecretNames = []string{
	SecretComponentSecret, SecretComponentToken, SecretEncodingAESKey, SecretPreviousEncodingAESKey,
	SecretPublicAppSecret, SecretSessionSigningKey, SecretAdminSigningKey, SecretStateSigningKey, SecretSceneSigningKey,
}

// Secrets resolves secret values. Values are never logged; errors name the
// secret, never its value.
type Secrets interface {
	// Get returns the secret's value or an error when it is not set.
	Get(ctx context.Context, name string) (string, error)
	// Lookup returns the value and whether it is set, for optional secrets.
	Lookup(ctx context.Context, name string) (string, bool, error)
}

// EnvSecrets reads secrets from environment variables (local runs, tests).
type EnvSecrets struct{ Getenv func(string) string }

// Get returns the variable's value, or a MissingError when it is empty.
func (s EnvSecrets) Get(ctx context.Context, name string) (string, error) {
	v, ok, err := s.Lookup(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &MissingError{Names: []string{name}}
	}
	return v, nil
}

// Lookup returns the variable's value and whether it is set.
func (s EnvSecrets) Lookup(_ context.Context, name string) (string, bool, error) {
	v := s.Getenv(name)
	return v, v != "", nil
}

// FetchFunc fetches the raw JSON of the secret bundle (Secrets Manager
// GetSecretValue in AWS).
type FetchFunc func(ctx context.Context) (string, error)

// BundleSecrets reads all secrets from one JSON document fetched on first use
// and kept for the life of the process: no network call happens at init, and
// one call serves every later request. A failed fetch is retried on the next
// use rather than cached.
type BundleSecrets struct {
	Fetch  FetchFunc
	mu     sync.Mutex
	values map[string]string
}

func (s *BundleSecrets) load(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values != nil {
		return s.values, nil
	}
	raw, err := s.Fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch secrets: %w", err)
	}
	values := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &values); err != nil {
		// The error text of json could quote the document; do not wrap it.
		return nil, fmt.Errorf("secrets bundle is not a JSON object of strings")
	}
	s.values = values
	return values, nil
}

// Get returns the secret from the bundle, or a MissingError when absent.
func (s *BundleSecrets) Get(ctx context.Context, name string) (string, error) {
	v, ok, err := s.Lookup(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &MissingError{Names: []string{name}}
	}
	return v, nil
}

// Lookup returns the secret from the bundle and whether it is set.
func (s *BundleSecrets) Lookup(ctx context.Context, name string) (string, bool, error) {
	values, err := s.load(ctx)
	if err != nil {
		return "", false, err
	}
	v := values[name]
	return v, v != "", nil
}

// MinSigningKeyBytes is the shortest HMAC signing key accepted: HMAC-SHA256
// (and so HS256) wants a key at least as long as its 32-byte output.
const MinSigningKeyBytes = 32

// SigningKey returns the HMAC signing key held in secret name, refusing
// one shorter than MinSigningKeyBytes. The secrets are read on first use
// and kept, so calling it per request costs no I/O after the first.
func SigningKey(ctx context.Context, s Secrets, name string) ([]byte, error) {
	k, err := s.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", name, err)
	}
	if len(k) < MinSigningKeyBytes {
		return nil, fmt.Errorf("signing key %s must be at least %d bytes", name, MinSigningKeyBytes)
	}
	return []byte(k), nil
}
