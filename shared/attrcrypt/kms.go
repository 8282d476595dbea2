package attrcrypt

import (
	"context"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/apperr"
	"wxchannel/shared/awsconf"
)

// The encryption context of every data key: KMS binds the encrypted data
// key to it, and the functions' IAM policy allows the key's use only with
// it (kms:EncryptionContext:purpose).
const (
	EncryptionContextKey   = "purpose"
	EncryptionContextValue = "wxchannel-attributes"
)

// maxOpenedKeys bounds the data keys an instance keeps decrypted; each
// instance that sealed values adds one a day.
const maxOpenedKeys = 256

// kmsKeys is envelope encryption: a data key from GenerateDataKey seals
// the values of one instance for DataKeyLifetime, its encrypted blob is the
// key id stored beside each value, and Decrypt recovers the data key of a
// blob the instance has not seen. No call is made before the first seal or
// open.
type kmsKeys struct {
	keyID, region, endpoint string
	lifetime                time.Duration
	now                     func() time.Time

	clientOptions []func(*kms.Options)
	clientMu      sync.Mutex
	client        *kms.Client

	// gen admits one GenerateDataKey at a time (a one-slot lock that a
	// waiting caller's context can abandon).
	gen chan struct{}

	mu      sync.Mutex
	current *dataKey
	until   time.Time
	opened  map[string]*openedKey
}

// openedKey is a data key being or having been decrypted; ready closes
// when aead or err is set, so concurrent opens of one blob call KMS once.
type openedKey struct {
	ready chan struct{}
	aead  cipher.AEAD
	err   error
}

// settled reports whether the decryption of e has finished.
func (e *openedKey) settled() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

func newKMSKeys(o Options) *kmsKeys {
	return &kmsKeys{keyID: o.KMSKeyID, region: o.Region, endpoint: o.KMSEndpoint, lifetime: o.DataKeyLifetime, now: o.Now,
		clientOptions: o.KMSClientOptions, gen: make(chan struct{}, 1), opened: map[string]*openedKey{}}
}

func encryptionContext() map[string]string {
	return map[string]string{EncryptionContextKey: EncryptionContextValue}
}

// kmsClient builds the client on first use, configured as the DynamoDB
// client is: credentials from the Lambda environment, or static dummies
// with a local endpoint override.
func (k *kmsKeys) kmsClient() (*kms.Client, error) {
	k.clientMu.Lock()
	defer k.clientMu.Unlock()
	if k.client != nil {
		return k.client, nil
	}
	cfg, err := awsconf.FromEnv(k.region, k.endpoint != "")
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	opts := append([]func(*kms.Options){func(o *kms.Options) {
		if k.endpoint != "" {
			o.BaseEndpoint = aws.String(k.endpoint)
		}
	}}, k.clientOptions...)
	k.client = kms.NewFromConfig(cfg, opts...)
	return k.client, nil
}

func (k *kmsKeys) fresh() (dataKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.current == nil || !k.now().Before(k.until) {
		return dataKey{}, false
	}
	return *k.current, true
}

// sealing returns the instance's data key, generating one on the first
// seal and after its lifetime.
func (k *kmsKeys) sealing(ctx context.Context) (dataKey, error) {
	if dk, ok := k.fresh(); ok {
		return dk, nil
	}
	select {
	case k.gen <- struct{}{}:
	case <-ctx.Done():
		return dataKey{}, ctx.Err()
	}
	defer func() { <-k.gen }()
	if dk, ok := k.fresh(); ok {
		return dk, nil // generated while we waited
	}
	client, err := k.kmsClient()
	if err != nil {
		return dataKey{}, err
	}
	out, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(k.keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: encryptionContext(),
	})
	if err != nil {
		return dataKey{}, kmsErr("generate data key", err)
	}
	aead, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return dataKey{}, fmt.Errorf("kms generate data key: %w", err)
	}
	dk := dataKey{id: kmsIDKind + base64.RawURLEncoding.EncodeToString(out.CiphertextBlob), aead: aead}
	done := &openedKey{ready: make(chan struct{}), aead: aead}
	close(done.ready)
	k.mu.Lock()
	k.current, k.until = &dk, k.now().Add(k.lifetime)
	k.rememberLocked(dk.id, done)
	k.mu.Unlock()
	return dk, nil
}

// opening returns the data key of a blob, decrypting it with KMS the first
// time the instance sees it.
func (k *kmsKeys) opening(ctx context.Context, keyID string) (cipher.AEAD, error) {
	k.mu.Lock()
	e, seen := k.opened[keyID]
	if !seen {
		e = &openedKey{ready: make(chan struct{})}
		k.rememberLocked(keyID, e)
	}
	k.mu.Unlock()
	if !seen {
		k.decrypt(ctx, keyID, e)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.aead, e.err
}

// decrypt fills e from KMS; a failure is forgotten, so the next open
// tries again.
func (k *kmsKeys) decrypt(ctx context.Context, keyID string, e *openedKey) {
	defer close(e.ready)
	e.aead, e.err = k.decryptBlob(ctx, strings.TrimPrefix(keyID, kmsIDKind))
	if e.err != nil {
		k.mu.Lock()
		if k.opened[keyID] == e {
			delete(k.opened, keyID)
		}
		k.mu.Unlock()
	}
}

func (k *kmsKeys) decryptBlob(ctx context.Context, encoded string) (cipher.AEAD, error) {
	blob, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || len(blob) == 0 {
		return nil, ErrMalformed
	}
	client, err := k.kmsClient()
	if err != nil {
		return nil, err
	}
	out, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: encryptionContext()})
	if _, invalid := errors.AsType[*types.InvalidCiphertextException](err); invalid {
		return nil, fmt.Errorf("%w: kms decrypt: %w", ErrCannotOpen, err)
	}
	if err != nil {
		return nil, kmsErr("decrypt", err)
	}
	aead, err := newAEAD(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return aead, nil
}

// rememberLocked keeps e under keyID, dropping another decrypted key when
// the cache is full (it is decrypted again if it is needed again).
func (k *kmsKeys) rememberLocked(keyID string, e *openedKey) {
	if len(k.opened) >= maxOpenedKeys {
		for id, old := range k.opened {
			if (k.current == nil || id != k.current.id) && old.settled() {
				delete(k.opened, id)
				break
			}
		}
	}
	k.opened[keyID] = e
}

// kmsBusyCodes are KMS's answers that mean "not now": the caller should
// retry shortly.
var kmsBusyCodes = map[string]bool{
	"ThrottlingException": true, "LimitExceededException": true, "KMSInternalException": true,
	"DependencyTimeoutException": true, "KeyUnavailableException": true,
}

// kmsErr wraps a KMS failure; one that means "not now" becomes Unavailable.
func kmsErr(op string, err error) error {
	err = fmt.Errorf("kms %s: %w", op, err)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && kmsBusyCodes[apiErr.ErrorCode()] {
		return apperr.E(apperr.Unavailable, "key_service_unavailable", "the key service is busy; retry shortly").Wrap(err)
	}
	return err
}
