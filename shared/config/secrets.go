package config

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Secret names. Locally each is an environment variable of the same name; in
// AWS they are the keys of the JSON secret of their purpose's bundle (see
// Bundles). A name with PreviousSuffix is the value it replaced, kept
// during a rotation.
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

// SigningKeyNames are the HMAC keys of distinct purposes: no two may be
// equal (a leak of one would forge the other's tokens).
var SigningKeyNames = []string{SecretSessionSigningKey, SecretSceneSigningKey, SecretAdminSigningKey, SecretStateSigningKey}

// SecretNames lists every secret, for documentation and checks.
var SecretNames = []string{
	SecretComponentSecret, SecretComponentToken, SecretComponentToken + PreviousSuffix, SecretEncodingAESKey, SecretPreviousEncodingAESKey,
	SecretPublicAppSecret, SecretSessionSigningKey, SecretAdminSigningKey, SecretStateSigningKey, SecretSceneSigningKey,
	SecretSessionSigningKey + PreviousSuffix, SecretAdminSigningKey + PreviousSuffix, SecretStateSigningKey + PreviousSuffix,
	SecretSceneSigningKey + PreviousSuffix, SecretTokenEncryptionKey, SecretPreviousTokenEncryptionKey,
}

// Bundle is the secrets of one purpose, held in AWS by one Secrets Manager
// secret (a JSON object) whose ARN is in ARNVar: each function is given,
// and may read, only the bundles it uses. Required names must be set for
// the bundle to be usable; each may have a _PREVIOUS value beside it.
type Bundle struct {
	Name     string
	ARNVar   string
	Required []string
}

// Bundles are the secrets by purpose.
var Bundles = []Bundle{
	{Name: "platform", ARNVar: "SECRETS_ARN_PLATFORM", Required: []string{SecretComponentSecret, SecretComponentToken, SecretEncodingAESKey}},
	{Name: "public-app", ARNVar: "SECRETS_ARN_PUBLIC_APP", Required: []string{SecretPublicAppSecret}},
	{Name: "session", ARNVar: "SECRETS_ARN_SESSION", Required: []string{SecretSessionSigningKey}},
	{Name: "scene", ARNVar: "SECRETS_ARN_SCENE", Required: []string{SecretSceneSigningKey}},
	{Name: "staff", ARNVar: "SECRETS_ARN_STAFF", Required: []string{SecretAdminSigningKey}},
	{Name: "state", ARNVar: "SECRETS_ARN_STATE", Required: []string{SecretStateSigningKey}},
}

// BundleOf names the bundle that holds a secret (or its previous value).
func BundleOf(name string) (Bundle, bool) {
	base := strings.TrimSuffix(name, PreviousSuffix)
	for _, b := range Bundles {
		if slices.Contains(b.Required, base) {
			return b, true
		}
	}
	return Bundle{}, false
}

// Secrets resolves secret values. Values are never logged; errors name the
// secret, never its value.
type Secrets interface {
	// Get returns the secret's value or an error when it is not set.
	Get(ctx context.Context, name string) (string, error)
	// Lookup returns the value and whether it is set, for optional secrets.
	Lookup(ctx context.Context, name string) (string, bool, error)
	// Refresh reads the secret's source again now, when a value failed to
	// verify (a key may have been rotated since it was read), and reports
	// whether anything changed.
	Refresh(ctx context.Context, name string) (bool, error)
}

// EnvSecrets reads secrets from environment variables (local runs, tests).
type EnvSecrets struct{ Getenv func(string) string }

// Get returns the variable's value, or a MissingError when it is empty.
func (s EnvSecrets) Get(ctx context.Context, name string) (string, error) {
	return get(ctx, s, name)
}

// Lookup returns the variable's value and whether it is set.
func (s EnvSecrets) Lookup(_ context.Context, name string) (string, bool, error) {
	v := s.Getenv(name)
	return v, v != "", nil
}

// Refresh changes nothing: the variables are read on every use.
func (EnvSecrets) Refresh(context.Context, string) (bool, error) { return false, nil }

func get(ctx context.Context, s Secrets, name string) (string, error) {
	v, ok, err := s.Lookup(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &MissingError{Names: []string{name}}
	}
	return v, nil
}

// FetchFunc fetches the raw JSON of the secret with an ARN (Secrets
// Manager GetSecretValue in AWS).
type FetchFunc func(ctx context.Context, arn string) (string, error)

// Timing of ManagedSecrets.
const (
	// SecretsTTL is how long a bundle read from Secrets Manager is kept: a
	// rotated value reaches every warm instance within it.
	SecretsTTL = 5 * time.Minute
	// refreshEvery bounds forced re-reads of one bundle, so a stream of
	// forged signatures cannot make us call Secrets Manager for each.
	refreshEvery = 10 * time.Second
)

// ManagedSecrets reads each purpose's bundle from Secrets Manager on first
// use (never at init) and again once it is SecretsTTL old or a Refresh asks.
// A failed read is not kept, and neither is a bundle that lacks a required
// value (one read before the operator filled it in): the next use reads
// again.
type ManagedSecrets struct {
	Fetch FetchFunc
	// ARNs are the bundles this function may read, by bundle name.
	ARNs map[string]string
	Now  func() time.Time

	mu     sync.Mutex
	loaded map[string]*loadedBundle
}

type loadedBundle struct {
	mu     sync.Mutex
	values map[string]string
	at     time.Time
}

func (s *ManagedSecrets) bundle(name string) (*loadedBundle, Bundle, string) {
	b, ok := BundleOf(name)
	if !ok {
		return nil, Bundle{}, ""
	}
	arn := s.ARNs[b.Name]
	if arn == "" {
		return nil, b, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded == nil {
		s.loaded = map[string]*loadedBundle{}
	}
	lb, ok := s.loaded[b.Name]
	if !ok {
		lb = &loadedBundle{}
		s.loaded[b.Name] = lb
	}
	return lb, b, arn
}

// values returns the bundle's values, reading it when it is not kept, too
// old, or force asks (at most every refreshEvery); changed reports a read
// that changed them.
func (s *ManagedSecrets) values(ctx context.Context, lb *loadedBundle, b Bundle, arn string, force bool) (map[string]string, bool, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	now := s.Now()
	fresh := lb.values != nil && now.Sub(lb.at) < SecretsTTL
	if fresh && (!force || now.Sub(lb.at) < refreshEvery) {
		return lb.values, false, nil
	}
	raw, err := s.Fetch(ctx, arn)
	if err != nil {
		return nil, false, fmt.Errorf("fetch the %s secrets: %w", b.Name, err)
	}
	values := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &values); err != nil {
		// The error text of json could quote the document; do not wrap it.
		return nil, false, fmt.Errorf("the %s secrets are not a JSON object of strings", b.Name)
	}
	changed := !maps.Equal(values, lb.values)
	for _, req := range b.Required {
		if values[req] == "" {
			lb.values = nil // keep nothing: the operator has not filled it in yet
			return values, changed, nil
		}
	}
	lb.values, lb.at = values, now
	return values, changed, nil
}

// Get returns the secret from its bundle, or a MissingError when absent.
func (s *ManagedSecrets) Get(ctx context.Context, name string) (string, error) {
	return get(ctx, s, name)
}

// Lookup returns the secret from its bundle and whether it is set; a
// secret of a bundle this function may not read is not set.
func (s *ManagedSecrets) Lookup(ctx context.Context, name string) (string, bool, error) {
	lb, b, arn := s.bundle(name)
	if lb == nil {
		return "", false, nil
	}
	values, _, err := s.values(ctx, lb, b, arn, false)
	if err != nil {
		return "", false, err
	}
	v := values[name]
	return v, v != "", nil
}

// Refresh reads the secret's bundle again unless it was read a moment ago.
func (s *ManagedSecrets) Refresh(ctx context.Context, name string) (bool, error) {
	lb, b, arn := s.bundle(name)
	if lb == nil {
		return false, nil
	}
	_, changed, err := s.values(ctx, lb, b, arn, true)
	return changed, err
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
